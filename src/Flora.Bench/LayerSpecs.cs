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

    /// <summary>Builds the base layer on <paramref name="device"/> in <paramref name="dtype"/>, frozen, and wraps it.</summary>
    public (nn.Module<Tensor, Tensor> Base, FloraLayer Adapter) Build(FloraModelOptions options, Device device, ScalarType dtype)
    {
        (nn.Module<Tensor, Tensor> baseLayer, Tensor weight) = CreateBase(device, dtype);
        foreach (var parameter in baseLayer.parameters())
            parameter.requires_grad = false;
        FloraLayerConfig config = FloraLayerConfig.Resolve(Name, weight.shape, options, FloraTargetOptions.Inherit);
        FloraLayer adapter = Wrap(baseLayer, config);
        using (no_grad())
        {
            // The core starts at zero; random values make the update real work rather than a product with zeros.
            using var core = randn(adapter.Core.shape, dtype: ScalarType.Float32);
            using var converted = core.to(adapter.Core.dtype, adapter.Core.device);
            adapter.Core.copy_(converted);
        }
        foreach (var (_, tensor) in adapter.AdapterTensors)
            tensor.requires_grad = true;
        return (baseLayer, adapter);
    }

    protected abstract (nn.Module<Tensor, Tensor> Base, Tensor Weight) CreateBase(Device device, ScalarType dtype);

    protected abstract FloraLayer Wrap(nn.Module<Tensor, Tensor> baseLayer, FloraLayerConfig config);
}

/// <summary>A 2-d convolution (square kernel) over an NCHW input.</summary>
internal sealed record Conv2dSpec(string Name, long InChannels, long OutChannels, long Kernel, long Stride, long Padding, long Groups, long[] InputShape)
    : LayerSpec(Name, InputShape)
{
    protected override (nn.Module<Tensor, Tensor> Base, Tensor Weight) CreateBase(Device device, ScalarType dtype)
    {
        Conv2d conv = nn.Conv2d(InChannels, OutChannels, Kernel, stride: Stride, padding: Padding, groups: Groups, device: device, dtype: dtype);
        return (conv, conv.weight);
    }

    protected override FloraLayer Wrap(nn.Module<Tensor, Tensor> baseLayer, FloraLayerConfig config) =>
        new FloraConv2d(Name, (Conv2d)baseLayer, config);
}

/// <summary>A Linear layer applied to the last axis of its input (rows = the product of the other axes).</summary>
internal sealed record LinearSpec(string Name, long InFeatures, long OutFeatures, long[] InputShape) : LayerSpec(Name, InputShape)
{
    protected override (nn.Module<Tensor, Tensor> Base, Tensor Weight) CreateBase(Device device, ScalarType dtype)
    {
        Linear linear = nn.Linear(InFeatures, OutFeatures, device: device, dtype: dtype);
        return (linear, linear.weight);
    }

    protected override FloraLayer Wrap(nn.Module<Tensor, Tensor> baseLayer, FloraLayerConfig config) =>
        new FloraLinear(Name, (Linear)baseLayer, config);
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
