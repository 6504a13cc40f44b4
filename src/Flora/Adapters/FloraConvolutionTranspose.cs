using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// FLoRA on a transposed convolution with weight <c>[in, out/groups, k1, …]</c>: one factor per mode in the weight's own
/// mode order (mode 0 the input channels with rank <c>InRank ?? Rank</c>, mode 1 the output channels per group with
/// <c>OutRank ?? Rank</c>, every kernel axis R3). The factorised path reduces <c>in → r0</c> per group, runs the core
/// kernel as a transposed convolution with the base layer's stride, padding, output padding and dilation, and expands
/// <c>r1 → out/groups</c> per group (<see cref="TransposedConvolutionGeometry"/>); the materialised and fused paths call
/// <c>conv_transpose</c> with ΔW or <c>W0 + ΔW</c>. <see cref="FloraLayer.Config"/>'s ranks are in that mode order
/// (<c>[r_in, r_out, R3, …]</c>: build a configuration by hand in it), and the factors' file keys say which is which
/// (<c>factor.in</c> for mode 0, <c>factor.out</c> for mode 1).
/// </summary>
public abstract class FloraConvolutionTranspose : FloraLayer
{
    /// <summary>Wraps <paramref name="baseLayer"/>, read through <paramref name="geometry"/>, with a FLoRA adapter configured by <paramref name="config"/>.</summary>
    private protected FloraConvolutionTranspose(string name, nn.Module<Tensor, Tensor> baseLayer, LayerGeometry geometry, FloraLayerConfig config)
        : base(name, baseLayer, geometry, config)
    {
    }
}

/// <summary>FLoRA on a <see cref="ConvTranspose1d"/>: modes in, out/groups, k.</summary>
public sealed class FloraConvTranspose1d : FloraConvolutionTranspose
{
    /// <summary>Wraps <paramref name="baseLayer"/>.</summary>
    public FloraConvTranspose1d(string name, ConvTranspose1d baseLayer, FloraLayerConfig config) : this(name, baseLayer, LayerGeometry.TransposedConvolution(baseLayer), config)
    {
    }

    /// <summary>Wraps <paramref name="baseLayer"/> read through <paramref name="geometry"/>, the one the dispatch built (<see cref="LayerTypeEntry"/>).</summary>
    internal FloraConvTranspose1d(string name, ConvTranspose1d baseLayer, LayerGeometry geometry, FloraLayerConfig config) : base(name, baseLayer, geometry, config) => Base = baseLayer;

    /// <summary>The wrapped base layer.</summary>
    public ConvTranspose1d Base { get; }
}

/// <summary>FLoRA on a <see cref="ConvTranspose2d"/>: modes in, out/groups, kh, kw.</summary>
public sealed class FloraConvTranspose2d : FloraConvolutionTranspose
{
    /// <summary>Wraps <paramref name="baseLayer"/>.</summary>
    public FloraConvTranspose2d(string name, ConvTranspose2d baseLayer, FloraLayerConfig config) : this(name, baseLayer, LayerGeometry.TransposedConvolution(baseLayer), config)
    {
    }

    /// <summary>Wraps <paramref name="baseLayer"/> read through <paramref name="geometry"/>, the one the dispatch built (<see cref="LayerTypeEntry"/>).</summary>
    internal FloraConvTranspose2d(string name, ConvTranspose2d baseLayer, LayerGeometry geometry, FloraLayerConfig config) : base(name, baseLayer, geometry, config) => Base = baseLayer;

    /// <summary>The wrapped base layer.</summary>
    public ConvTranspose2d Base { get; }
}

/// <summary>FLoRA on a <see cref="ConvTranspose3d"/>: modes in, out/groups, kd, kh, kw.</summary>
public sealed class FloraConvTranspose3d : FloraConvolutionTranspose
{
    /// <summary>Wraps <paramref name="baseLayer"/>.</summary>
    public FloraConvTranspose3d(string name, ConvTranspose3d baseLayer, FloraLayerConfig config) : this(name, baseLayer, LayerGeometry.TransposedConvolution(baseLayer), config)
    {
    }

    /// <summary>Wraps <paramref name="baseLayer"/> read through <paramref name="geometry"/>, the one the dispatch built (<see cref="LayerTypeEntry"/>).</summary>
    internal FloraConvTranspose3d(string name, ConvTranspose3d baseLayer, LayerGeometry geometry, FloraLayerConfig config) : base(name, baseLayer, geometry, config) => Base = baseLayer;

    /// <summary>The wrapped base layer.</summary>
    public ConvTranspose3d Base { get; }
}
