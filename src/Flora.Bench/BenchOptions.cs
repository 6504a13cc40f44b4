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

/// <summary>Which set of layer shapes to time.</summary>
internal enum ShapeSet
{
    /// <summary>Small CPU-friendly shapes (batch 8).</summary>
    Small,
    /// <summary>ConvNeXt-T stage shapes (batch 64), for GPUs.</summary>
    ConvNext,
}

/// <summary>The parsed command line of <c>Flora.Bench layers</c>.</summary>
internal sealed record BenchOptions
{
    public const string Usage = """
        Flora.Bench: times one training step (forward + backward) of FLoRA adapters against their frozen base layer.

        Usage:
          dotnet run -c Release --project src/Flora.Bench -- layers [options]

        Options:
          --device cpu|cuda          Where to run (default cpu; cuda needs a build with --property:FloraBackend=cuda).
          --dtype float32|bfloat16   Tensor dtype of layers, adapters and inputs (default float32).
          --iterations N             Timed iterations per variant (default 15 on CPU, 50 on CUDA).
          --warmup N                 Untimed warm-up iterations per variant (default 3 on CPU, 10 on CUDA).
          --batch N                  Batch size (default 8 for small, 64 for convnext).
          --shapes small|convnext    Layer shapes (default small).
          --rank N                   FLoRA rank of the out and in modes (default 8).
          --r3 N                     FLoRA rank of every kernel axis (default 2).
          --scale X                  FLoRA scale s (default 0.4).
          --threads N                torch intra-op threads (default: libtorch's choice).
          --seed N                   Seed of layers, adapters and inputs (default 1234).
          --markdown PATH            Also write the results as a markdown report to PATH.
          -h, --help                 Show this help.

        Variants per layer (each: one step = forward, sum loss, backward; the input requires grad in all of them):
          base          the frozen base layer alone
          factorised    FLoRA, factorised forward (never builds ΔW)
          materialised  FLoRA, ΔW built and run as a second layer (the authors' approach)
          merged        FLoRA merged into the base weight (forward = base)
        The 'Auto' column is the path the cost model (FloraForwardPath.Auto) picks for the layer's input shape.
        """;

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
    /// <summary>The arguments as given (the memory pass's child process gets them again).</summary>
    public IReadOnlyList<string> Arguments { get; init; } = Array.Empty<string>();
    /// <summary>This process is the benchmark's own memory-measuring child (see <see cref="ResidentMemory"/>).</summary>
    public bool MemoryChild { get; init; }

    /// <summary>Parses the arguments after <c>--</c>; returns null when help was asked for.</summary>
    public static BenchOptions? Parse(IReadOnlyList<string> args)
    {
        if (args.Count == 0)
            throw new UsageException("no command given. The only command is 'layers'.");
        if (args.Any(a => a is "-h" or "--help" or "-?" or "help"))
            return null;
        if (args[0] != "layers")
            throw new UsageException($"unknown command '{args[0]}'. The only command is 'layers'.");

        DeviceType device = DeviceType.CPU;
        torch.ScalarType dtype = torch.ScalarType.Float32;
        int? iterations = null, warmup = null, batch = null, threads = null;
        ShapeSet shapes = ShapeSet.Small;
        int rank = 8, r3 = 2;
        double scale = 0.4;
        long seed = 1234;
        string? markdown = null;
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
                case "--iterations": iterations = PositiveInt(arg, Value()); break;
                case "--warmup": warmup = NonNegativeInt(arg, Value()); break;
                case "--batch": batch = PositiveInt(arg, Value()); break;
                case "--rank": rank = PositiveInt(arg, Value()); break;
                case "--r3": r3 = PositiveInt(arg, Value()); break;
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
            CommandLine = "dotnet run -c Release --project src/Flora.Bench -- " + string.Join(" ", args.Select(Quote)),
            Device = device,
            DType = dtype,
            Iterations = iterations ?? (cuda ? 50 : 15),
            Warmup = warmup ?? (cuda ? 10 : 3),
            Batch = batch ?? (shapes == ShapeSet.Small ? 8 : 64),
            Shapes = shapes,
            Rank = rank,
            R3 = r3,
            Scale = scale,
            Threads = threads,
            Seed = seed,
            MarkdownPath = markdown,
            Arguments = args.ToArray(),
            MemoryChild = memoryChild,
        };
    }

    public string DTypeName => DType == torch.ScalarType.BFloat16 ? "bfloat16" : "float32";

    public string DeviceName => Device == DeviceType.CUDA ? "cuda" : "cpu";

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
