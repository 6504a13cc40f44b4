using System.Collections.Generic;
using System.CommandLine;
using System.Linq;
using TorchSharp;

namespace Flora.Bench;

/// <summary><c>Flora.Bench layers</c> and <c>Flora.Bench model</c>: their options, read into <see cref="BenchOptions"/> for <see cref="Program.Run"/>.</summary>
internal static class StepCommands
{
    private const string CudaNote = " On CUDA the process prints its id first, so that an outside poller (nvidia-smi) can attribute memory to it; " +
                                    "run one variant (--variants) or method (--methods) per process to measure each one's memory.";

    /// <summary><c>layers</c>: one training step per layer shape and variant.</summary>
    public static Command Layers()
    {
        var common = new CommonOptions("Batch size (default 8 for --shapes small, 64 for convnext)");
        var shapes = new NamedOption<ShapeSet>("--shapes", "Layer shapes: small (CPU-friendly, batch 8) or convnext (the ConvNeXt-T stages, batch 64, for GPUs)",
            "small|convnext", value => value switch
            {
                "small" => ShapeSet.Small,
                "convnext" => ShapeSet.ConvNext,
                _ => throw new UsageException($"unknown shape set '{value}'. Use small or convnext."),
            }, "small");
        var layers = BenchOption.Of<string?>("--layers", "Only the layers whose name contains TEXT (case-insensitive), e.g. 'dwconv'", "TEXT", value =>
            value.Length > 0 ? value : throw new UsageException("option '--layers' needs some text to look for in the layer names."));
        var variants = BenchOption.Names("--variants",
            "Only these variants, comma-separated (default all): base (the frozen base layer alone), flora-fact (FLoRA, factorised forward: " +
            "never builds ΔW), flora-mat (FLoRA, ΔW built and run as a second layer: the authors' approach), flora-fused (FLoRA, one layer " +
            "call with W0 + ΔW instead of the base layer's), lora and dora (at the rank matched to the FLoRA budget), merged (FLoRA merged " +
            "into the base weight: forward = base)",
            LayerBenchmark.AllVariants.Select(BenchOptions.VariantKey).ToArray(), VariantAlias);
        var rank = BenchOption.Positive("--rank", "FLoRA rank of the out and in modes", 8);
        var r3 = BenchOption.Positive("--r3", "FLoRA rank of every kernel axis", 2);
        var scale = BenchOption.PositiveNumber("--scale", "FLoRA scale s", 0.4);
        var loraPath = BenchOption.ForwardPath("--lora-path", "Forward path of the LoRA and DoRA adapters (auto: the library's cost model)");
        var command = new Command("layers",
            "One training step (forward, sum loss, backward; the input requires grad) per layer shape and variant: the frozen base layer " +
            "against FLoRA's forward paths, LoRA, DoRA and FLoRA merged. The 'Auto' column is the path the cost model " +
            "(FloraForwardPath.Auto) picks for the FLoRA adapter in a training step." + CudaNote);
        common.AddTo(command);
        foreach (Option option in new Option[] { shapes.Option, layers, variants, rank, r3, scale, loraPath.Option })
            command.Options.Add(option);
        command.SetAction(result =>
        {
            BenchOptions options = common.Read(result, BenchCommand.Layers, shapes.Get(result) == ShapeSet.ConvNext ? 64 : 8) with
            {
                Shapes = shapes.Get(result),
                LayerFilter = result.GetValue(layers),
                Variants = result.GetValue(variants) is IReadOnlyList<string> keys
                    ? LayerBenchmark.AllVariants.Where(v => keys.Contains(BenchOptions.VariantKey(v))).ToArray()
                    : LayerBenchmark.AllVariants,
                Rank = result.GetValue(rank),
                R3 = result.GetValue(r3),
                Scale = result.GetValue(scale),
                LoraPath = loraPath.Get(result),
            };
            return Program.Run(options);
        });
        return command;
    }

    /// <summary><c>model</c>: one step of the main job's TinyConvNeXt per method.</summary>
    public static Command Model()
    {
        var common = new CommonOptions("Batch size (default 64)");
        var width = BenchOption.Positive("--width", "Channels of TinyConvNeXt's first stage", 32);
        var methods = BenchOption.Names("--methods", "Only these methods, comma-separated (default all): " + string.Join(", ", ModelBenchmark.MethodKeys),
            ModelBenchmark.MethodKeys);
        var command = new Command("model",
            "One step of the main job's TinyConvNeXt on random 1×28×28 images and random labels, per method: training (forward, " +
            "cross-entropy, backward, gradient clipping, FloraAdamW step) for full fine-tuning, BitFit, and FLoRA, LoRA and DoRA at " +
            "budgets A (rank 4, R3 1) and B (rank 8, R3 2); forward only (no grad, eval mode) for the base model and the base with " +
            "FLoRA merged in." + CudaNote);
        common.AddTo(command);
        command.Options.Add(width);
        command.Options.Add(methods);
        command.SetAction(result => Program.Run(common.Read(result, BenchCommand.Model, 64) with
        {
            Width = result.GetValue(width),
            Methods = result.GetValue(methods),
        }));
        return command;
    }

    /// <summary>The other names <c>--variants</c> has always taken for a variant.</summary>
    private static string? VariantAlias(string name) => name switch
    {
        "factorised" or "factorized" or "fact" => "flora-fact",
        "materialised" or "materialized" or "mat" => "flora-mat",
        "fused" => "flora-fused",
        "flora-merged" => "merged",
        _ => null,
    };

    /// <summary>The options both commands take; each command has its own instances.</summary>
    private sealed class CommonOptions
    {
        private readonly NamedOption<DeviceType> _device = BenchOption.Device("Where to run (cuda needs a build with --property:FloraBackend=cuda)");
        private readonly NamedOption<torch.ScalarType> _dtype = BenchOption.DType("Tensor dtype of layers, adapters and inputs");
        private readonly Option<int?> _iterations = BenchOption.OptionalPositive("--iterations", "Timed iterations per variant or method (default 15 on CPU, 50 on CUDA)");
        private readonly Option<int?> _warmup = BenchOption.OptionalNonNegative("--warmup", "Untimed warm-up iterations per variant or method (default 3 on CPU, 10 on CUDA)");
        private readonly Option<int?> _batch;
        private readonly Option<int?> _threads = BenchOption.OptionalPositive("--threads", "torch intra-op threads (default: libtorch's choice)");
        private readonly Option<long> _seed = BenchOption.Integer("--seed", "Seed of the weights, adapters and inputs", 1234);
        private readonly Option<string?> _markdown = BenchOption.Markdown("Also write the results as a markdown report to PATH");
        private readonly Option<bool> _memoryChild = new(ResidentMemory.ChildFlag) { Hidden = true };

        public CommonOptions(string batchDescription) => _batch = BenchOption.OptionalPositive("--batch", batchDescription);

        public void AddTo(Command command)
        {
            foreach (Option option in new Option[] { _device.Option, _dtype.Option, _iterations, _warmup, _batch, _threads, _seed, _markdown, _memoryChild })
                command.Options.Add(option);
        }

        /// <summary>The options both commands share, with the defaults that depend on the device and <paramref name="batch"/>.</summary>
        public BenchOptions Read(ParseResult result, BenchCommand command, int batch)
        {
            DeviceType device = _device.Get(result);
            bool cuda = device == DeviceType.CUDA;
            IReadOnlyList<string> arguments = BenchCommandLine.Arguments(result);
            return new BenchOptions
            {
                Command = command,
                CommandLine = BenchCommandLine.Display(arguments),
                Device = device,
                DType = _dtype.Get(result),
                Iterations = result.GetValue(_iterations) ?? (cuda ? 50 : 15),
                Warmup = result.GetValue(_warmup) ?? (cuda ? 10 : 3),
                Batch = result.GetValue(_batch) ?? batch,
                Threads = result.GetValue(_threads),
                Seed = result.GetValue(_seed),
                MarkdownPath = result.GetValue(_markdown),
                Arguments = arguments,
                MemoryChild = result.GetValue(_memoryChild),
            };
        }
    }
}
