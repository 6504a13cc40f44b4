using System.Collections.Generic;
using System.CommandLine;
using Flora.Cli.Experiments;
using static TorchSharp.torch;

namespace Flora.Cli.Commands;

/// <summary>
/// How a fine-tuning run computes (<c>flora compare</c> and <c>flora train</c>): the network's dtype, the adapter tensors'
/// dtype beside a 16-bit network, the adapters' forward path, and whether the ResNet-18's BatchNorm layers train.
/// </summary>
internal sealed class ComputeOptions
{
    private readonly Option<string> _dtype = CliOptions.Choice("--dtype", "The dtype the network computes in: float32, or bfloat16 (meant for a GPU)", "float32", "bfloat16");
    private readonly Option<string> _adapterDtype = CliOptions.Choice("--adapter-dtype",
        "With --dtype bfloat16: adapter tensors in float32 (PEFT's default: the update and the optimizer's steps keep full precision) or in the network's dtype (base)",
        "float32", "base");
    private readonly Option<string> _forwardPath = CliOptions.Choice("--forward-path",
        "How every unmerged adapter computes: auto (a cost model per layer and input), factorised, materialised or fused (W0 + ΔW in one call, rounded to a 16-bit network's dtype)",
        "auto", "factorised", "materialised", "fused");
    private readonly Option<string> _batchNorm = CliOptions.Choice("--batchnorm",
        "With --model resnet18: the BatchNorm layers train and are saved with the adapter methods (trained), or stay in eval mode with their ImageNet statistics (frozen)",
        "trained", "frozen");

    /// <summary>The options, to add to a command.</summary>
    public IEnumerable<Option> All => new Option[] { _dtype, _adapterDtype, _forwardPath, _batchNorm };

    /// <summary><paramref name="settings"/> with what the command line chose.</summary>
    public CompareSettings Apply(ParseResult result, CompareSettings settings)
    {
        bool bfloat16 = result.GetValue(_dtype) == "bfloat16";
        return settings with
        {
            FineTune = settings.FineTune with
            {
                Dtype = bfloat16 ? ScalarType.BFloat16 : ScalarType.Float32,
                FrozenBatchNorm = result.GetValue(_batchNorm) == "frozen",
            },
            AutocastAdapterDtype = result.GetValue(_adapterDtype) == "float32",
            ForwardPath = System.Enum.Parse<FloraForwardPath>(result.GetValue(_forwardPath)!, ignoreCase: true), // the words are the enum's names
        };
    }
}
