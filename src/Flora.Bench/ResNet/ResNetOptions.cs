using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using TorchSharp;

namespace Flora.Bench.ResNet;

/// <summary>The parsed command line of <c>Flora.Bench resnet</c>.</summary>
internal sealed record ResNetOptions
{
    public const string Usage = """
        Flora.Bench resnet: one SGD training step of TorchVision's ResNet-18 (adapters on the 16 convolutions of layer1–layer4,
        FLoRA rank 8, R3 2; LoRA and DoRA at the rank matched to FLoRA's budget) per method and batch size.

        Usage:
          dotnet run -c Release --project src/Flora.Bench -- resnet [options]

        Options:
          --device cpu|cuda          Where to run (default cpu).
          --dtype float32|bfloat16   dtype of the model, adapters and input (default float32).
          --batch LIST               Batch sizes, comma-separated (default 32,128,512; the proxy 1).
          --size N                   Input height and width (default 112; the proxy 8).
          --methods LIST             Methods, comma-separated (default all): floor (base frozen, the input requires grad),
                                     full (full fine-tuning), flora, lora, dora.
          --path auto|factorised|materialised|fused   Forward path of the adapters (default auto).
          --iterations N / --warmup N   Timed and untimed steps per method (default 30/10 on CUDA, 200/30 on CPU).
          --threads N                torch intra-op threads (the proxy: 1).
          --proxy                    The CPU proxy of host cost: 1×3×8×8, one thread; reports µs per adapter over the floor.
          --markdown PATH            Also write the table as markdown to PATH.
        """;

    public DeviceType Device { get; init; } = DeviceType.CPU;
    public torch.ScalarType DType { get; init; } = torch.ScalarType.Float32;
    public IReadOnlyList<int> Batches { get; init; } = new[] { 32, 128, 512 };
    public int Size { get; init; } = 112;
    public IReadOnlyList<string> Methods { get; init; } = AllMethods;
    public FloraForwardPath Path { get; init; } = FloraForwardPath.Auto;
    public int Iterations { get; init; }
    public int Warmup { get; init; }
    public int? Threads { get; init; }
    public bool Proxy { get; init; }
    public string? Markdown { get; init; }
    public string CommandLine { get; init; } = "";

    public static readonly string[] AllMethods = { "floor", "full", "flora", "lora", "dora" };

    public string DTypeName => DType == torch.ScalarType.BFloat16 ? "bfloat16" : "float32";

    /// <summary>Parses <paramref name="args"/>; null for --help.</summary>
    public static ResNetOptions? Parse(string[] args)
    {
        var o = new ResNetOptions { CommandLine = "resnet " + string.Join(" ", args) };
        bool batchSet = false, sizeSet = false;
        int? iterations = null, warmup = null;
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new UsageException($"{args[i]} needs a value");
            int Int() => int.TryParse(Value(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v > 0
                ? v : throw new UsageException($"{args[i - 1]} takes a positive integer");
            switch (args[i])
            {
                case "-h" or "--help": return null;
                case "--device":
                    o = o with { Device = Value() switch { "cpu" => DeviceType.CPU, "cuda" => DeviceType.CUDA, var d => throw new UsageException($"unknown device '{d}'") } };
                    break;
                case "--dtype":
                    o = o with { DType = Value() switch { "float32" or "fp32" => torch.ScalarType.Float32, "bfloat16" or "bf16" => torch.ScalarType.BFloat16, var d => throw new UsageException($"unknown dtype '{d}'") } };
                    break;
                case "--batch":
                    o = o with { Batches = Value().Split(',').Select(b => int.Parse(b, CultureInfo.InvariantCulture)).ToArray() };
                    batchSet = true;
                    break;
                case "--size": o = o with { Size = Int() }; sizeSet = true; break;
                case "--methods":
                    string[] methods = Value().Split(',');
                    if (methods.FirstOrDefault(m => !AllMethods.Contains(m)) is string bad) throw new UsageException($"unknown method '{bad}'; use {string.Join(", ", AllMethods)}");
                    o = o with { Methods = methods };
                    break;
                case "--path":
                    o = o with { Path = Enum.TryParse(Value(), ignoreCase: true, out FloraForwardPath p) ? p : throw new UsageException("--path takes auto, factorised, materialised or fused") };
                    break;
                case "--iterations": iterations = Int(); break;
                case "--warmup": warmup = Int(); break;
                case "--threads": o = o with { Threads = Int() }; break;
                case "--proxy": o = o with { Proxy = true }; break;
                case "--markdown": o = o with { Markdown = Value() }; break;
                default: throw new UsageException($"unknown option '{args[i]}'");
            }
        }
        if (o.Proxy)
            o = o with { Batches = batchSet ? o.Batches : new[] { 1 }, Size = sizeSet ? o.Size : 8, Threads = o.Threads ?? 1, Device = DeviceType.CPU };
        bool cuda = o.Device == DeviceType.CUDA;
        return o with { Iterations = iterations ?? (cuda ? 30 : 200), Warmup = warmup ?? (cuda ? 10 : 30) };
    }
}
