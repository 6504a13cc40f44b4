using TorchSharp.Modules;

namespace Flora;

/// <summary>
/// DoRA on a convolution: the LoRA update of <see cref="LoraConvolution"/> (grouped and depthwise included) and a
/// magnitude per output channel, the norm taken over <c>in/groups</c> and every kernel axis.
/// </summary>
public abstract class DoraConvolution : DoraLayer
{
    /// <summary>Wraps <paramref name="baseLayer"/>, read through <paramref name="geometry"/>, with a DoRA adapter configured by <paramref name="config"/>.</summary>
    private protected DoraConvolution(string name, Convolution baseLayer, LayerGeometry geometry, LoraLayerConfig config) : base(name, baseLayer, geometry, config)
    {
    }
}

/// <summary>DoRA on a <see cref="Conv1d"/>.</summary>
public sealed class DoraConv1d : DoraConvolution
{
    /// <summary>Wraps <paramref name="baseLayer"/>.</summary>
    public DoraConv1d(string name, Conv1d baseLayer, LoraLayerConfig config) : this(name, baseLayer, LayerGeometry.Convolution(baseLayer), config)
    {
    }

    /// <summary>Wraps <paramref name="baseLayer"/> read through <paramref name="geometry"/>, the one the dispatch built (<see cref="LayerTypeEntry"/>).</summary>
    internal DoraConv1d(string name, Conv1d baseLayer, LayerGeometry geometry, LoraLayerConfig config) : base(name, baseLayer, geometry, config)
    {
    }

    /// <summary>The wrapped base layer.</summary>
    public Conv1d Base => (Conv1d)BaseLayer;
}

/// <summary>DoRA on a <see cref="Conv2d"/>.</summary>
public sealed class DoraConv2d : DoraConvolution
{
    /// <summary>Wraps <paramref name="baseLayer"/>.</summary>
    public DoraConv2d(string name, Conv2d baseLayer, LoraLayerConfig config) : this(name, baseLayer, LayerGeometry.Convolution(baseLayer), config)
    {
    }

    /// <summary>Wraps <paramref name="baseLayer"/> read through <paramref name="geometry"/>, the one the dispatch built (<see cref="LayerTypeEntry"/>).</summary>
    internal DoraConv2d(string name, Conv2d baseLayer, LayerGeometry geometry, LoraLayerConfig config) : base(name, baseLayer, geometry, config)
    {
    }

    /// <summary>The wrapped base layer.</summary>
    public Conv2d Base => (Conv2d)BaseLayer;
}

/// <summary>DoRA on a <see cref="Conv3d"/>.</summary>
public sealed class DoraConv3d : DoraConvolution
{
    /// <summary>Wraps <paramref name="baseLayer"/>.</summary>
    public DoraConv3d(string name, Conv3d baseLayer, LoraLayerConfig config) : this(name, baseLayer, LayerGeometry.Convolution(baseLayer), config)
    {
    }

    /// <summary>Wraps <paramref name="baseLayer"/> read through <paramref name="geometry"/>, the one the dispatch built (<see cref="LayerTypeEntry"/>).</summary>
    internal DoraConv3d(string name, Conv3d baseLayer, LayerGeometry geometry, LoraLayerConfig config) : base(name, baseLayer, geometry, config)
    {
    }

    /// <summary>The wrapped base layer.</summary>
    public Conv3d Base => (Conv3d)BaseLayer;
}
