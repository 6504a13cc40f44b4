using System;
using System.Collections.Generic;
using TorchSharp;

namespace Flora.Bench;

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

/// <summary>The parsed command line of <c>Flora.Bench layers</c> or <c>Flora.Bench model</c> (<see cref="StepCommands"/>).</summary>
internal sealed record BenchOptions
{
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
}
