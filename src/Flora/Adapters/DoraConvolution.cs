using TorchSharp.Modules;

namespace Flora;

/// <summary>
/// DoRA on a convolution: the LoRA update of <see cref="LoraConvolution"/> (grouped and depthwise included) and a
/// magnitude per output channel, the norm taken over <c>in/groups</c> and every kernel axis.
/// </summary>
public abstract class DoraConvolution : DoraLayer
{
    /// <summary>Wraps <paramref name="baseLayer"/> with a DoRA adapter configured by <paramref name="config"/>.</summary>
    private protected DoraConvolution(string name, Convolution baseLayer, LoraLayerConfig config) : base(name, baseLayer, LayerGeometry.Convolution(baseLayer), config)
    {
    }
}

/// <summary>DoRA on a <see cref="Conv1d"/>.</summary>
public sealed class DoraConv1d : DoraConvolution
{
    /// <summary>Wraps <paramref name="baseLayer"/>.</summary>
    public DoraConv1d(string name, Conv1d baseLayer, LoraLayerConfig config) : base(name, baseLayer, config)
    {
    }

    /// <summary>The wrapped base layer.</summary>
    public Conv1d Base => (Conv1d)BaseLayer;
}

/// <summary>DoRA on a <see cref="Conv2d"/>.</summary>
public sealed class DoraConv2d : DoraConvolution
{
    /// <summary>Wraps <paramref name="baseLayer"/>.</summary>
    public DoraConv2d(string name, Conv2d baseLayer, LoraLayerConfig config) : base(name, baseLayer, config)
    {
    }

    /// <summary>The wrapped base layer.</summary>
    public Conv2d Base => (Conv2d)BaseLayer;
}

/// <summary>DoRA on a <see cref="Conv3d"/>.</summary>
public sealed class DoraConv3d : DoraConvolution
{
    /// <summary>Wraps <paramref name="baseLayer"/>.</summary>
    public DoraConv3d(string name, Conv3d baseLayer, LoraLayerConfig config) : base(name, baseLayer, config)
    {
    }

    /// <summary>The wrapped base layer.</summary>
    public Conv3d Base => (Conv3d)BaseLayer;
}
