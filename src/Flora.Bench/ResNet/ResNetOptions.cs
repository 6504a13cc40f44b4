using System.Collections.Generic;
using System.Linq;
using TorchSharp;

namespace Flora.Bench.ResNet;

/// <summary>The parsed command line of <c>Flora.Bench resnet</c> (<see cref="ResNetCommand"/>).</summary>
internal sealed record ResNetOptions
{
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
    public bool NoGroups { get; init; }
    public bool HookBound { get; init; }
    public bool MainJob { get; init; }
    public string? Markdown { get; init; }
    public string CommandLine { get; init; } = "";

    public static readonly string[] AllMethods = { "floor", "full", "flora", "lora", "dora" };

    /// <summary>
    /// Every method name the command takes: <see cref="AllMethods"/>, and variants of the adapter methods measured in the
    /// same process: <c>-alone</c> (the model's <c>forward(x)</c>: no forward scope, every adapter builds alone) and
    /// <c>-hooks</c> (every target hook-bound, as <c>--hook-bound</c>).
    /// </summary>
    public static readonly string[] KnownMethods = AllMethods
        .Concat(new[] { "flora", "lora", "dora" }.SelectMany(m => new[] { m + "-alone", m + "-hooks" })).ToArray();

    public string DTypeName => DType == torch.ScalarType.BFloat16 ? "bfloat16" : "float32";
}
