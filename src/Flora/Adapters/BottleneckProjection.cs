using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// One projection of a bottleneck adapter (<c>adapter_down</c> or <c>adapter_up</c>), held as the adapter's child module
/// with a <c>weight</c> matrix and a <c>bias</c> vector, so that a model's <c>state_dict</c> names them as adapter files
/// do: <c>conv2.adapter_down.weight</c>, <c>conv2.adapter_up.bias</c>.
/// </summary>
internal sealed class BottleneckProjection : nn.Module
{
    public const string WeightName = "weight";
    public const string BiasName = "bias";

    /// <summary>Registers <paramref name="weight"/> and <paramref name="bias"/> (owned by this module from now on).</summary>
    public BottleneckProjection(string name, Parameter weight, Parameter bias) : base(name)
    {
        register_parameter(WeightName, weight);
        register_parameter(BiasName, bias);
    }
}
