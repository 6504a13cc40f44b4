using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora.Bench;

/// <summary>One layer shape to time: how to build the frozen base layer and its FLoRA adapter, and the input's shape.</summary>
internal abstract record LayerSpec(string Name, long[] InputShape)
{
    /// <summary>A short description of the input, e.g. <c>8×64×28×28</c>.</summary>
    public string InputText => string.Join("×", InputShape);

    /// <summary>
    /// Builds the base layer on <paramref name="device"/> in <paramref name="dtype"/>, frozen, and wraps it three times:
    /// FLoRA with <paramref name="options"/>, and LoRA and DoRA at the ranks matched to that FLoRA budget, each the
    /// adapter the runtime's dispatch table gives the layer (<see cref="FloraLayerTypes.CreateAdapter"/>). The three
    /// adapters share the one base layer. Every factor that starts
    /// at zero (FLoRA's core, LoRA's and DoRA's B) is filled from <c>randn</c> so that each update is real work.
    /// </summary>
    public LayerAdapters Build(FloraModelOptions options, FloraForwardPath loraPath, Device device, ScalarType dtype)
    {
        nn.Module<Tensor, Tensor> baseLayer = CreateBase(device, dtype);
        foreach (var parameter in baseLayer.parameters())
            parameter.requires_grad = false;
        var flora = (FloraLayer)FloraLayerTypes.CreateAdapter(FloraMethod.Flora, Name, baseLayer, options);
        var lora = (LoraLayer)FloraLayerTypes.CreateAdapter(FloraMethod.Lora, Name, baseLayer, options);
        var dora = (LoraLayer)FloraLayerTypes.CreateAdapter(FloraMethod.Dora, Name, baseLayer, options);
        lora.ForwardPath = loraPath;
        dora.ForwardPath = loraPath;
        using (no_grad())
        {
            FillRandom(flora.Core, 1.0);
            FillRandom(lora.LoraB, LoraBScale);
            FillRandom(dora.LoraB, LoraBScale);
        }
        foreach (AdapterLayer adapter in new AdapterLayer[] { flora, lora, dora })
            foreach (var (_, tensor) in adapter.AdapterTensors)
                tensor.requires_grad = true;
        return new LayerAdapters(baseLayer, flora, lora, dora);
    }

    /// <summary>The standard deviation LoRA's and DoRA's B are drawn with (A is kaiming-uniform, as PEFT initialises it).</summary>
    public const double LoraBScale = 0.01;

    private static void FillRandom(Tensor target, double std)
    {
        // Drawn in float32 on the CPU, then converted: the same seed gives the same values on any device and dtype.
        using var draw = randn(target.shape, dtype: ScalarType.Float32);
        using var scaled = draw.mul(std);
        using var converted = scaled.to(target.dtype, target.device);
        target.copy_(converted);
    }

    protected abstract nn.Module<Tensor, Tensor> CreateBase(Device device, ScalarType dtype);
}

/// <summary>A frozen base layer and its three adapters, which all wrap it.</summary>
internal sealed record LayerAdapters(nn.Module<Tensor, Tensor> Base, FloraLayer Flora, LoraLayer Lora, LoraLayer Dora);

/// <summary>A 2-d convolution (square kernel) over an NCHW input.</summary>
internal sealed record Conv2dSpec(string Name, long InChannels, long OutChannels, long Kernel, long Stride, long Padding, long Groups, long[] InputShape)
    : LayerSpec(Name, InputShape)
{
    protected override nn.Module<Tensor, Tensor> CreateBase(Device device, ScalarType dtype)
    {
        Conv2d conv = nn.Conv2d(InChannels, OutChannels, Kernel, stride: Stride, padding: Padding, groups: Groups, device: device, dtype: dtype);
        return conv;
    }
}

/// <summary>A Linear layer applied to the last axis of its input (rows = the product of the other axes).</summary>
internal sealed record LinearSpec(string Name, long InFeatures, long OutFeatures, long[] InputShape) : LayerSpec(Name, InputShape)
{
    protected override nn.Module<Tensor, Tensor> CreateBase(Device device, ScalarType dtype)
    {
        Linear linear = nn.Linear(InFeatures, OutFeatures, device: device, dtype: dtype);
        return linear;
    }
}

/// <summary>The shape sets of the benchmark.</summary>
internal static class LayerShapes
{
    public static IReadOnlyList<LayerSpec> For(ShapeSet set, long batch) => set switch
    {
        ShapeSet.Small => Small(batch),
        ShapeSet.ConvNext => ConvNext(batch),
        _ => throw new ArgumentOutOfRangeException(nameof(set)),
    };

    /// <summary>The shapes of <paramref name="options"/>' set whose name contains its <c>--layers</c> text (case-insensitive).</summary>
    public static IReadOnlyList<LayerSpec> For(BenchOptions options)
    {
        IReadOnlyList<LayerSpec> all = For(options.Shapes, options.Batch);
        if (options.LayerFilter is not string filter)
            return all;
        LayerSpec[] chosen = all.Where(s => s.Name.Contains(filter, StringComparison.OrdinalIgnoreCase)).ToArray();
        return chosen.Length > 0 ? chosen
            : throw new UsageException($"no layer of the '{options.Shapes.ToString().ToLowerInvariant()}' shapes has '{filter}' in its name. " +
                                       $"The layers are: {string.Join("; ", all.Select(s => s.Name))}.");
    }

    /// <summary>CPU-friendly shapes from the small/early stages of ResNet- and ConvNeXt-like networks.</summary>
    private static IReadOnlyList<LayerSpec> Small(long n) => new LayerSpec[]
    {
        new Conv2dSpec("conv3x3 64→64 @28²", 64, 64, 3, 1, 1, 1, new[] { n, 64, 28, 28 }),
        new Conv2dSpec("conv3x3 128→128 @14²", 128, 128, 3, 1, 1, 1, new[] { n, 128, 14, 14 }),
        new Conv2dSpec("dwconv7x7 128 @14²", 128, 128, 7, 1, 3, 128, new[] { n, 128, 14, 14 }),
        new Conv2dSpec("down2x2/s2 64→128 @28²", 64, 128, 2, 2, 0, 1, new[] { n, 64, 28, 28 }),
        new LinearSpec("linear 256→1024", 256, 1024, new[] { n, 196, 256 }),
        new LinearSpec("linear 1024→256", 1024, 256, new[] { n, 196, 1024 }),
    };

    /// <summary>The three ConvNeXt-T stages at 224² input: 3×3 conv, 7×7 depthwise, pointwise C→4C and 4C→C (channels last).</summary>
    private static IReadOnlyList<LayerSpec> ConvNext(long n) =>
        new (long Size, long C)[] { (56, 128), (28, 256), (14, 512) }.SelectMany(stage =>
        {
            (long h, long c) = stage;
            return new LayerSpec[]
            {
                new Conv2dSpec($"conv3x3 {c}→{c} @{h}²", c, c, 3, 1, 1, 1, new[] { n, c, h, h }),
                new Conv2dSpec($"dwconv7x7 {c} @{h}²", c, c, 7, 1, 3, c, new[] { n, c, h, h }),
                new LinearSpec($"pw {c}→{4 * c} @{h}²", c, 4 * c, new[] { n, h, h, c }),
                new LinearSpec($"pw {4 * c}→{c} @{h}²", 4 * c, c, new[] { n, h, h, 4 * c }),
            };
        }).ToArray();
}
