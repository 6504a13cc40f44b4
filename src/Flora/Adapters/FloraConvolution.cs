using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// FLoRA on a convolution with weight <c>[out, in/groups, k1, …]</c>: one factor per mode, the kernel's structure kept.
/// The factorised path is a chain of three convolutions that never builds ΔW (see <see cref="FloraLayer"/>); the
/// materialised path builds the grouped ΔW and convolves with the base layer's geometry and groups; the fused path
/// convolves once with <c>W0 + ΔW</c> and the base layer's bias instead of calling the base layer.
/// </summary>
public abstract class FloraConvolution : FloraLayer
{
    /// <summary>Wraps <paramref name="baseLayer"/>, read through <paramref name="geometry"/>, with a FLoRA adapter configured by <paramref name="config"/>.</summary>
    private protected FloraConvolution(string name, nn.Module<Tensor, Tensor> baseLayer, LayerGeometry geometry, FloraLayerConfig config)
        : base(name, baseLayer, geometry, config)
    {
    }
}

/// <summary>FLoRA on a <see cref="Conv1d"/>: modes out, in/groups, k.</summary>
public sealed class FloraConv1d : FloraConvolution
{
    /// <summary>Wraps <paramref name="baseLayer"/>.</summary>
    public FloraConv1d(string name, Conv1d baseLayer, FloraLayerConfig config) : this(name, baseLayer, LayerGeometry.Convolution(baseLayer), config)
    {
    }

    /// <summary>Wraps <paramref name="baseLayer"/> read through <paramref name="geometry"/>, the one the dispatch built (<see cref="LayerTypeEntry"/>).</summary>
    internal FloraConv1d(string name, Conv1d baseLayer, LayerGeometry geometry, FloraLayerConfig config) : base(name, baseLayer, geometry, config) => Base = baseLayer;

    /// <summary>The wrapped base layer.</summary>
    public Conv1d Base { get; }
}

/// <summary>FLoRA on a <see cref="Conv2d"/>: modes out, in/groups, kh, kw.</summary>
public sealed class FloraConv2d : FloraConvolution
{
    /// <summary>Wraps <paramref name="baseLayer"/>.</summary>
    public FloraConv2d(string name, Conv2d baseLayer, FloraLayerConfig config) : this(name, baseLayer, LayerGeometry.Convolution(baseLayer), config)
    {
    }

    /// <summary>Wraps <paramref name="baseLayer"/> read through <paramref name="geometry"/>, the one the dispatch built (<see cref="LayerTypeEntry"/>).</summary>
    internal FloraConv2d(string name, Conv2d baseLayer, LayerGeometry geometry, FloraLayerConfig config) : base(name, baseLayer, geometry, config) => Base = baseLayer;

    /// <summary>The wrapped base layer.</summary>
    public Conv2d Base { get; }
}

/// <summary>FLoRA on a <see cref="Conv3d"/>: modes out, in/groups, kd, kh, kw.</summary>
public sealed class FloraConv3d : FloraConvolution
{
    /// <summary>Wraps <paramref name="baseLayer"/>.</summary>
    public FloraConv3d(string name, Conv3d baseLayer, FloraLayerConfig config) : this(name, baseLayer, LayerGeometry.Convolution(baseLayer), config)
    {
    }

    /// <summary>Wraps <paramref name="baseLayer"/> read through <paramref name="geometry"/>, the one the dispatch built (<see cref="LayerTypeEntry"/>).</summary>
    internal FloraConv3d(string name, Conv3d baseLayer, LayerGeometry geometry, FloraLayerConfig config) : base(name, baseLayer, geometry, config) => Base = baseLayer;

    /// <summary>The wrapped base layer.</summary>
    public Conv3d Base { get; }
}
