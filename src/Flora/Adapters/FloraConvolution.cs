using System.Linq;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// FLoRA on a convolution with weight <c>[out, in/groups, k1, …]</c>: one factor per mode, the kernel's structure kept.
/// The factorised path is a chain of three convolutions that never builds ΔW:
/// a 1×1 convolution <c>in → r_in</c> (weight <c>U_inᵀ</c>), the core convolution <c>r_in → r_out</c> with kernel
/// <c>s·G ×3 U_k0 ×4 U_k1 …</c> and the base layer's stride, padding, padding mode and dilation, and a 1×1 convolution
/// <c>r_out → out</c> (weight <c>U_out</c>). With groups g each group runs the same chain on its own channels
/// (the weights repeated g times), which is exactly the grouped ΔW of shape <c>[out, in/g, k…]</c>.
/// The materialised path builds that ΔW and convolves with the base layer's geometry and groups; the fused path
/// convolves once with <c>W0 + ΔW</c> and the base layer's bias instead of calling the base layer.
/// </summary>
public abstract class FloraConvolution : FloraLayer
{
    private readonly Convolution _conv;
    private readonly ConvGeometry _geometry;

    /// <summary>Wraps <paramref name="baseLayer"/> with a FLoRA adapter configured by <paramref name="config"/>.</summary>
    protected FloraConvolution(string name, Convolution baseLayer, FloraLayerConfig config) : base(name, baseLayer, baseLayer.weight, config)
    {
        _conv = baseLayer;
        _geometry = new ConvGeometry(baseLayer);
    }

    /// <inheritdoc />
    protected override Parameter BaseWeight => _conv.weight;

    /// <inheritdoc />
    public override FloraCostEstimate EstimateCost(long[] inputShape, FloraCostContext context)
    {
        int spatialStart = inputShape.Length - _geometry.Dimensions;
        double batch = spatialStart == 2 ? inputShape[0] : 1;
        double inputPositions = 1;
        for (int i = spatialStart; i < inputShape.Length; i++) inputPositions *= inputShape[i];
        return FloraCostModel.Estimate(Config, _geometry.Groups, batch, inputPositions, _geometry.OutputPositions(inputShape), context);
    }

    /// <inheritdoc />
    protected override bool IsBatched(Tensor input) => input.dim() == _geometry.Dimensions + 2;

    /// <inheritdoc />
    protected override Tensor WithWeight(Tensor input, Tensor weight) => _geometry.Apply(input, weight, _geometry.Groups, _conv.bias);

    /// <inheritdoc />
    protected override Tensor FactorisedUpdate(Tensor input)
    {
        using var scope = NewDisposeScope();
        long groups = _geometry.Groups;
        long[] pointwise = Enumerable.Repeat(1L, _geometry.Dimensions).ToArray();
        long[] kernelRepeat = Enumerable.Repeat(1L, 1 + _geometry.Dimensions).ToArray();

        // 1×1: in → r_in per group; weight[q, c] = U_in[c, q].
        Tensor inProjection = Factor(1).t().repeat(groups, 1).reshape(new long[] { groups * Config.Ranks[1], Config.WeightShape[1] }.Concat(pointwise).ToArray());
        Tensor reduced = _geometry.Pointwise(input, inProjection, groups);

        // Core convolution r_in → r_out with the base geometry; kernel s·G ×3 U_k0 ×4 U_k1 …
        Tensor kernel = Tucker.Reconstruct(Core.Times(Config.Scale), Factors.Skip(2).ToArray(), firstMode: 2);
        Tensor coreOutput = _geometry.Apply(reduced, kernel.repeat(new[] { groups }.Concat(kernelRepeat).ToArray()), groups);

        // 1×1: r_out → out per group; weight[o, p] = U_out[o, p].
        Tensor outProjection = Factor(0).reshape(new long[] { Config.WeightShape[0], Config.Ranks[0] }.Concat(pointwise).ToArray());
        return _geometry.Pointwise(coreOutput, outProjection, groups).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    protected override Tensor MaterialisedUpdate(Tensor input)
    {
        using var delta = Delta();
        return _geometry.Apply(input, delta, _geometry.Groups);
    }
}

/// <summary>FLoRA on a <see cref="Conv1d"/>: modes out, in/groups, k.</summary>
public sealed class FloraConv1d : FloraConvolution
{
    /// <summary>Wraps <paramref name="baseLayer"/>.</summary>
    public FloraConv1d(string name, Conv1d baseLayer, FloraLayerConfig config) : base(name, baseLayer, config) => Base = baseLayer;

    /// <summary>The wrapped base layer.</summary>
    public Conv1d Base { get; }
}

/// <summary>FLoRA on a <see cref="Conv2d"/>: modes out, in/groups, kh, kw.</summary>
public sealed class FloraConv2d : FloraConvolution
{
    /// <summary>Wraps <paramref name="baseLayer"/>.</summary>
    public FloraConv2d(string name, Conv2d baseLayer, FloraLayerConfig config) : base(name, baseLayer, config) => Base = baseLayer;

    /// <summary>The wrapped base layer.</summary>
    public Conv2d Base { get; }
}

/// <summary>FLoRA on a <see cref="Conv3d"/>: modes out, in/groups, kd, kh, kw.</summary>
public sealed class FloraConv3d : FloraConvolution
{
    /// <summary>Wraps <paramref name="baseLayer"/>.</summary>
    public FloraConv3d(string name, Conv3d baseLayer, FloraLayerConfig config) : base(name, baseLayer, config) => Base = baseLayer;

    /// <summary>The wrapped base layer.</summary>
    public Conv3d Base { get; }
}
