using TorchSharp.Modules;

namespace Flora;

/// <summary>
/// LoRA on a convolution with weight <c>[out, in/groups, k…]</c>, in the weight's matrix view
/// <c>[out, (in/groups)·Πk]</c>: A <c>[r, in/groups, k…]</c>, B <c>[out, r]</c>, <c>ΔW = reshape(B·A)</c>.
/// The factorised path is PEFT's conv LoRA generalised to groups: A as a convolution with the base layer's kernel,
/// stride, padding, padding mode and dilation (<c>in → r</c> per group, A repeated for each of the g groups), then B as a
/// grouped 1×1 convolution (<c>r → out</c> per group). It is exactly the grouped ΔW, so grouped and depthwise
/// convolutions (ConvNeXt's 7×7 depthwise layers) take any rank and merge; PEFT requires r divisible by the groups and
/// cannot merge them. The materialised path convolves with ΔW and the base layer's groups.
/// </summary>
public abstract class LoraConvolution : LoraLayer
{
    /// <summary>Wraps <paramref name="baseLayer"/>, read through <paramref name="geometry"/>, with a LoRA adapter configured by <paramref name="config"/>.</summary>
    private protected LoraConvolution(string name, Convolution baseLayer, LayerGeometry geometry, LoraLayerConfig config) : base(name, baseLayer, geometry, config)
    {
    }
}

/// <summary>LoRA on a <see cref="Conv1d"/>.</summary>
public sealed class LoraConv1d : LoraConvolution
{
    /// <summary>Wraps <paramref name="baseLayer"/>.</summary>
    public LoraConv1d(string name, Conv1d baseLayer, LoraLayerConfig config) : this(name, baseLayer, LayerGeometry.Convolution(baseLayer), config)
    {
    }

    /// <summary>Wraps <paramref name="baseLayer"/> read through <paramref name="geometry"/>, the one the dispatch built (<see cref="LayerTypeEntry"/>).</summary>
    internal LoraConv1d(string name, Conv1d baseLayer, LayerGeometry geometry, LoraLayerConfig config) : base(name, baseLayer, geometry, config)
    {
    }

    /// <summary>The wrapped base layer.</summary>
    public Conv1d Base => (Conv1d)BaseLayer;
}

/// <summary>LoRA on a <see cref="Conv2d"/>.</summary>
public sealed class LoraConv2d : LoraConvolution
{
    /// <summary>Wraps <paramref name="baseLayer"/>.</summary>
    public LoraConv2d(string name, Conv2d baseLayer, LoraLayerConfig config) : this(name, baseLayer, LayerGeometry.Convolution(baseLayer), config)
    {
    }

    /// <summary>Wraps <paramref name="baseLayer"/> read through <paramref name="geometry"/>, the one the dispatch built (<see cref="LayerTypeEntry"/>).</summary>
    internal LoraConv2d(string name, Conv2d baseLayer, LayerGeometry geometry, LoraLayerConfig config) : base(name, baseLayer, geometry, config)
    {
    }

    /// <summary>The wrapped base layer.</summary>
    public Conv2d Base => (Conv2d)BaseLayer;
}

/// <summary>LoRA on a <see cref="Conv3d"/>.</summary>
public sealed class LoraConv3d : LoraConvolution
{
    /// <summary>Wraps <paramref name="baseLayer"/>.</summary>
    public LoraConv3d(string name, Conv3d baseLayer, LoraLayerConfig config) : this(name, baseLayer, LayerGeometry.Convolution(baseLayer), config)
    {
    }

    /// <summary>Wraps <paramref name="baseLayer"/> read through <paramref name="geometry"/>, the one the dispatch built (<see cref="LayerTypeEntry"/>).</summary>
    internal LoraConv3d(string name, Conv3d baseLayer, LayerGeometry geometry, LoraLayerConfig config) : base(name, baseLayer, geometry, config)
    {
    }

    /// <summary>The wrapped base layer.</summary>
    public Conv3d Base => (Conv3d)BaseLayer;
}
