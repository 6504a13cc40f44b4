using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using TorchSharp;

namespace Flora.Bench;

/// <summary>A command line the benchmark cannot run; the message says what is wrong and what to do.</summary>
internal sealed class UsageException : Exception
{
    public UsageException(string message) : base(message) { }
}

/// <summary>What the benchmark times.</summary>
internal enum BenchCommand
{
    /// <summary>One training step per layer shape, per variant (<see cref="LayerBenchmark"/>).</summary>
    Layers,
    /// <summary>One step of the whole TinyConvNeXt per fine-tuning method (<see cref="ModelBenchmark"/>).</summary>
    Model,
}

/// <summary>Which set of layer shapes to time.</summary>
internal enum ShapeSet
{
    /// <summary>Small CPU-friendly shapes (batch 8).</summary>
    Small,
    /// <summary>ConvNeXt-T stage shapes (batch 64), for GPUs.</summary>
    ConvNext,
}

/// <summary>The parsed command line of <c>Flora.Bench layers</c> or <c>Flora.Bench model</c>.</summary>
internal sealed record BenchOptions
{
    public const string Usage = """
        Flora.Bench: times training steps of FLoRA, LoRA and DoRA adapters against their frozen base, per layer or for the whole model.

        Usage:
          dotnet run -c Release --project src/Flora.Bench -- layers [options]
          dotnet run -c Release --project src/Flora.Bench -- model [options]

        Options of both commands:
          --device cpu|cuda          Where to run (default cpu; cuda needs a build with --property:FloraBackend=cuda).
          --dtype float32|bfloat16   Tensor dtype of layers, adapters and inputs (default float32).
          --iterations N             Timed iterations per variant or method (default 15 on CPU, 50 on CUDA).
          --warmup N                 Untimed warm-up iterations per variant or method (default 3 on CPU, 10 on CUDA).
          --batch N                  Batch size (layers: 8 for small, 64 for convnext; model: 64).
          --threads N                torch intra-op threads (default: libtorch's choice).
          --seed N                   Seed of layers, adapters and inputs (default 1234).
          --markdown PATH            Also write the results as a markdown report to PATH.
          -h, --help                 Show this help.

        layers: one training step (forward, sum loss, backward; the input requires grad) per layer shape and variant.
          --shapes small|convnext    Layer shapes (default small).
          --layers TEXT              Only the layers whose name contains TEXT (case-insensitive), e.g. 'dwconv'.
          --variants LIST            Only these variants, comma-separated (default all):
                                       base        the frozen base layer alone
                                       flora-fact  FLoRA, factorised forward (never builds ΔW)
                                       flora-mat   FLoRA, ΔW built and run as a second layer (the authors' approach)
                                       flora-fused FLoRA, one layer call with W0 + ΔW instead of the base layer's
                                       lora        LoRA at the rank matched to the FLoRA budget
                                       dora        DoRA at the rank matched to the FLoRA budget
                                       merged      FLoRA merged into the base weight (forward = base)
          --rank N                   FLoRA rank of the out and in modes (default 8).
          --r3 N                     FLoRA rank of every kernel axis (default 2).
          --scale X                  FLoRA scale s (default 0.4).
          --lora-path auto|factorised|materialised|fused
                                     Forward path of the LoRA and DoRA adapters (default auto: the library's cost model).
          The 'Auto' column is the path the cost model (FloraForwardPath.Auto) picks for the FLoRA adapter in a training step.

        model: one step of the main job's TinyConvNeXt on random 1×28×28 images and random labels, per method:
          training (forward, cross-entropy, backward, gradient clipping, FloraAdamW step) for full fine-tuning, BitFit, and
          FLoRA, LoRA and DoRA at budgets A (rank 4, R3 1) and B (rank 8, R3 2); forward only (no grad, eval mode)
          for the base model and the base with FLoRA merged in.
          --width N                  Channels of the first stage (default 32).
          --methods LIST             Only these methods, comma-separated (default all): full, bitfit, flora-a, lora-a,
                                     dora-a, flora-b, lora-b, dora-b, base-fwd, merged-fwd.

        On CUDA the process prints its id first, so that an outside poller (nvidia-smi) can attribute memory to it;
        run one variant (--variants) or method (--methods) per process to measure each one's memory.
        """;

    public required BenchCommand Command { get; init; }
    public required string CommandLine { get; init; }
    public DeviceType Device { get; init; } = DeviceType.CPU;
    public torch.ScalarType DType { get; init; } = torch.ScalarType.Float32;
    public int Iterations { get; init; }
    public int Warmup { get; init; }
    public int Batch { get; init; }
    public ShapeSet Shapes { get; init; } = ShapeSet.Small;
    public int Rank { get; init; } = 8;
    public int R3 { get; init; } = 2;
    public double Scale { get; init; } = 0.4;
    public int? Threads { get; init; }
    public long Seed { get; init; } = 1234;
    public string? MarkdownPath { get; init; }
    /// <summary>The layer variants to time, in table order.</summary>
    public IReadOnlyList<Variant> Variants { get; init; } = LayerBenchmark.AllVariants;
    /// <summary>Only layers whose name contains this (case-insensitive); null for all.</summary>
    public string? LayerFilter { get; init; }
    /// <summary>The forward path of the LoRA and DoRA adapters in the layer benchmark.</summary>
    public FloraForwardPath LoraPath { get; init; } = FloraForwardPath.Auto;
    /// <summary>Channels of TinyConvNeXt's first stage (model command).</summary>
    public int Width { get; init; } = 32;
    /// <summary>The keys of the model command's methods to time; null for all.</summary>
    public IReadOnlyList<string>? Methods { get; init; }
    /// <summary>The arguments as given (the memory pass's child process gets them again).</summary>
    public IReadOnlyList<string> Arguments { get; init; } = Array.Empty<string>();
    /// <summary>This process is the benchmark's own memory-measuring child (see <see cref="ResidentMemory"/>).</summary>
    public bool MemoryChild { get; init; }

    private static readonly string[] LayerOnly = { "--shapes", "--layers", "--variants", "--rank", "--r3", "--scale", "--lora-path" };
    private static readonly string[] ModelOnly = { "--width", "--methods" };

    /// <summary>Parses the arguments after <c>--</c>; returns null when help was asked for.</summary>
    public static BenchOptions? Parse(IReadOnlyList<string> args)
    {
        if (args.Count == 0)
            throw new UsageException("no command given. The commands are 'layers' and 'model'.");
        if (args.Any(a => a is "-h" or "--help" or "-?" or "help"))
            return null;
        BenchCommand command = args[0] switch
        {
            "layers" => BenchCommand.Layers,
            "model" => BenchCommand.Model,
            _ => throw new UsageException($"unknown command '{args[0]}'. The commands are 'layers' and 'model'."),
        };

        DeviceType device = DeviceType.CPU;
        torch.ScalarType dtype = torch.ScalarType.Float32;
        int? iterations = null, warmup = null, batch = null, threads = null;
        ShapeSet shapes = ShapeSet.Small;
        int rank = 8, r3 = 2, width = 32;
        double scale = 0.4;
        long seed = 1234;
        string? markdown = null, layerFilter = null;
        IReadOnlyList<Variant> variants = LayerBenchmark.AllVariants;
        IReadOnlyList<string>? methods = null;
        FloraForwardPath loraPath = FloraForwardPath.Auto;
        bool memoryChild = false;

        for (int i = 1; i < args.Count; i++)
        {
            string arg = args[i];
            string? inlineValue = null;
            int eq = arg.IndexOf('=');
            if (arg.StartsWith("--", StringComparison.Ordinal) && eq > 0)
            {
                inlineValue = arg[(eq + 1)..];
                arg = arg[..eq];
            }
            string Value()
            {
                if (inlineValue is not null) return inlineValue;
                if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                    throw new UsageException($"option '{arg}' needs a value.");
                return args[++i];
            }
            if (command == BenchCommand.Model && LayerOnly.Contains(arg))
                throw new UsageException($"option '{arg}' belongs to the 'layers' command, not 'model'.");
            if (command == BenchCommand.Layers && ModelOnly.Contains(arg))
                throw new UsageException($"option '{arg}' belongs to the 'model' command, not 'layers'.");

            switch (arg)
            {
                case "--device":
                    device = Value() switch
                    {
                        "cpu" => DeviceType.CPU,
                        "cuda" => DeviceType.CUDA,
                        var v => throw new UsageException($"unknown device '{v}'. Use cpu or cuda."),
                    };
                    break;
                case "--dtype":
                    dtype = Value() switch
                    {
                        "float32" or "fp32" => torch.ScalarType.Float32,
                        "bfloat16" or "bf16" => torch.ScalarType.BFloat16,
                        var v => throw new UsageException($"unknown dtype '{v}'. Use float32 or bfloat16."),
                    };
                    break;
                case "--shapes":
                    shapes = Value() switch
                    {
                        "small" => ShapeSet.Small,
                        "convnext" => ShapeSet.ConvNext,
                        var v => throw new UsageException($"unknown shape set '{v}'. Use small or convnext."),
                    };
                    break;
                case "--lora-path":
                    loraPath = Value() switch
                    {
                        "auto" => FloraForwardPath.Auto,
                        "factorised" or "factorized" or "fact" => FloraForwardPath.Factorised,
                        "materialised" or "materialized" or "mat" => FloraForwardPath.Materialised,
                        "fused" => FloraForwardPath.Fused,
                        var v => throw new UsageException($"unknown forward path '{v}'. Use auto, factorised, materialised or fused."),
                    };
                    break;
                case "--variants": variants = ParseVariants(Value()); break;
                case "--layers":
                    layerFilter = Value();
                    if (layerFilter.Length == 0)
                        throw new UsageException("option '--layers' needs some text to look for in the layer names.");
                    break;
                case "--methods": methods = ParseMethods(Value()); break;
                case "--iterations": iterations = PositiveInt(arg, Value()); break;
                case "--warmup": warmup = NonNegativeInt(arg, Value()); break;
                case "--batch": batch = PositiveInt(arg, Value()); break;
                case "--rank": rank = PositiveInt(arg, Value()); break;
                case "--r3": r3 = PositiveInt(arg, Value()); break;
                case "--width": width = PositiveInt(arg, Value()); break;
                case "--threads": threads = PositiveInt(arg, Value()); break;
                case "--seed":
                    if (!long.TryParse(Value(), NumberStyles.Integer, CultureInfo.InvariantCulture, out seed))
                        throw new UsageException($"option '{arg}' needs an integer.");
                    break;
                case "--scale":
                    string s = Value();
                    if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out scale) || !double.IsFinite(scale) || scale <= 0)
                        throw new UsageException($"option '{arg}' needs a positive number, got '{s}'.");
                    break;
                case "--markdown": markdown = Value(); break;
                case ResidentMemory.ChildFlag: memoryChild = true; break;
                default:
                    throw new UsageException($"unknown option '{args[i]}'.");
            }
        }

        bool cuda = device == DeviceType.CUDA;
        return new BenchOptions
        {
            Command = command,
            CommandLine = "dotnet run -c Release --project src/Flora.Bench -- " + string.Join(" ", args.Select(Quote)),
            Device = device,
            DType = dtype,
            Iterations = iterations ?? (cuda ? 50 : 15),
            Warmup = warmup ?? (cuda ? 10 : 3),
            Batch = batch ?? (command == BenchCommand.Model || shapes == ShapeSet.ConvNext ? 64 : 8),
            Shapes = shapes,
            Rank = rank,
            R3 = r3,
            Scale = scale,
            Threads = threads,
            Seed = seed,
            MarkdownPath = markdown,
            Variants = variants,
            LayerFilter = layerFilter,
            LoraPath = loraPath,
            Width = width,
            Methods = methods,
            Arguments = args.ToArray(),
            MemoryChild = memoryChild,
        };
    }

    public string DTypeName => DType == torch.ScalarType.BFloat16 ? "bfloat16" : "float32";

    public string DeviceName => Device == DeviceType.CUDA ? "cuda" : "cpu";

    /// <summary>The option name of each variant (<c>--variants</c>), in table order.</summary>
    public static string VariantKey(Variant variant) => variant switch
    {
        Variant.Base => "base",
        Variant.Factorised => "flora-fact",
        Variant.Materialised => "flora-mat",
        Variant.Fused => "flora-fused",
        Variant.Lora => "lora",
        Variant.Dora => "dora",
        Variant.Merged => "merged",
        _ => variant.ToString().ToLowerInvariant(),
    };

    private static IReadOnlyList<Variant> ParseVariants(string list)
    {
        var chosen = new HashSet<Variant>();
        foreach (string item in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            Variant? variant = item.ToLowerInvariant() switch
            {
                "base" => Variant.Base,
                "flora-fact" or "factorised" or "factorized" or "fact" => Variant.Factorised,
                "flora-mat" or "materialised" or "materialized" or "mat" => Variant.Materialised,
                "flora-fused" or "fused" => Variant.Fused,
                "lora" => Variant.Lora,
                "dora" => Variant.Dora,
                "merged" or "flora-merged" => Variant.Merged,
                _ => null,
            };
            chosen.Add(variant ?? throw new UsageException(
                $"unknown variant '{item}'. Use a comma-separated list of {string.Join(", ", LayerBenchmark.AllVariants.Select(VariantKey))}."));
        }
        if (chosen.Count == 0)
            throw new UsageException("option '--variants' needs at least one variant.");
        return LayerBenchmark.AllVariants.Where(chosen.Contains).ToArray();
    }

    private static IReadOnlyList<string> ParseMethods(string list)
    {
        string[] known = ModelBenchmark.MethodKeys;
        var chosen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string item in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string key = item.ToLowerInvariant();
            if (!known.Contains(key))
                throw new UsageException($"unknown method '{item}'. Use a comma-separated list of {string.Join(", ", known)}.");
            chosen.Add(key);
        }
        if (chosen.Count == 0)
            throw new UsageException("option '--methods' needs at least one method.");
        return known.Where(chosen.Contains).ToArray();
    }

    private static int PositiveInt(string option, string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n > 0
            ? n
            : throw new UsageException($"option '{option}' needs a whole number of at least 1, got '{value}'.");

    private static int NonNegativeInt(string option, string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n >= 0
            ? n
            : throw new UsageException($"option '{option}' needs a whole number of at least 0, got '{value}'.");

    private static string Quote(string arg) =>
        arg.Length > 0 && arg.All(c => char.IsLetterOrDigit(c) || "-_./=:,+@%".Contains(c)) ? arg : "'" + arg.Replace("'", "'\\''") + "'";
}
