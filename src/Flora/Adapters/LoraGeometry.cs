using System.Linq;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// How a LoRA update <c>ΔW = s·B·A</c> lies on a base layer type, in the matrix view of its weight
/// <c>[out, K]</c>, <c>K = (in/groups)·Πk</c>: A is <c>[r, in/groups, k…]</c> (the weight's shape with r outputs), B is
/// <c>[out, r]</c>, and <c>ΔW = reshape(B·flatten(A))</c>. The geometry runs that update on an input either factorised
/// (A, then B, never ΔW) or materialised (ΔW as a second layer), and estimates what each costs.
/// </summary>
internal abstract class LoraGeometry
{
    /// <summary>The base layer's current weight (TorchSharp replaces the object when the model moves).</summary>
    public abstract Parameter Weight { get; }

    /// <summary>The base layer's current bias, if it has one.</summary>
    public abstract Parameter? Bias { get; }

    /// <summary>The shape of A for rank <paramref name="rank"/>: the base weight's shape with r in place of out.</summary>
    public long[] AShape(int rank) => new long[] { rank }.Concat(Weight.shape.Skip(1)).ToArray();

    /// <summary>The shape that puts a per-output-channel vector on the output's channel axis.</summary>
    public abstract long[] ChannelShape { get; }

    /// <summary><c>s·ΔW(x)</c> as A then B, without building ΔW.</summary>
    public abstract Tensor Factorised(Tensor input, Tensor a, Tensor b, double scale);

    /// <summary><c>ΔW(x)</c> for a materialised <paramref name="delta"/> in the base weight's shape (no bias).</summary>
    public abstract Tensor Materialised(Tensor input, Tensor delta);

    /// <summary>
    /// The cost of both paths for an input of <paramref name="inputShape"/> at rank <paramref name="rank"/>; building ΔW
    /// counts towards the materialised path unless the caller builds it anyway (<paramref name="deltaBuilt"/>, DoRA's norm).
    /// </summary>
    public abstract FloraCostEstimate Estimate(long[] inputShape, int rank, bool deltaBuilt);

    /// <summary>Multiply-adds of building ΔW = B·A: <c>out·r·K</c>.</summary>
    protected double BuildMacs(int rank)
    {
        long[] shape = Weight.shape;
        double columns = 1;
        for (int i = 1; i < shape.Length; i++) columns *= shape[i];
        return shape[0] * (double)rank * columns;
    }
}

/// <summary>LoRA on a <see cref="Linear"/>: <c>(x·Aᵀ)·(s·B)ᵀ</c>, or <c>linear(x, ΔW)</c>.</summary>
internal sealed class LinearLoraGeometry : LoraGeometry
{
    private readonly Linear _linear;

    public LinearLoraGeometry(Linear linear) => _linear = linear;

    public override Parameter Weight => _linear.weight;

    public override Parameter? Bias => _linear.bias;

    public override long[] ChannelShape => new[] { _linear.weight.shape[0] };

    public override Tensor Factorised(Tensor input, Tensor a, Tensor b, double scale)
    {
        using var scope = NewDisposeScope();
        return input.matmul(a.t()).matmul(b.Times(scale).t()).MoveToOuterDisposeScope();
    }

    public override Tensor Materialised(Tensor input, Tensor delta) => nn.functional.linear(input, delta);

    public override FloraCostEstimate Estimate(long[] inputShape, int rank, bool deltaBuilt)
    {
        double rows = 1;
        for (int i = 0; i < inputShape.Length - 1; i++) rows *= inputShape[i];
        double outFeatures = _linear.weight.shape[0], inFeatures = _linear.weight.shape[1];
        double factorised = rows * rank * (inFeatures + outFeatures);
        double materialised = rows * outFeatures * inFeatures + (deltaBuilt ? 0 : BuildMacs(rank));
        return new FloraCostEstimate(factorised, materialised, rows * rank);
    }
}

/// <summary>
/// LoRA on a convolution with groups g. Factorised: A as a grouped convolution with the base layer's kernel, stride,
/// padding, padding mode and dilation (A repeated g times, weight <c>[g·r, in/g, k…]</c>, so every group projects its own
/// channels to r), then B as a grouped 1×1 convolution (weight <c>[out, r, 1…]</c>): output channel o of group j reads
/// group j's r channels with row o of B, which is exactly the grouped ΔW. For g = 1 this is PEFT's conv LoRA.
/// Materialised: ΔW <c>[out, in/g, k…]</c> convolved with the base layer's geometry and groups.
/// </summary>
internal sealed class ConvLoraGeometry : LoraGeometry
{
    private readonly Convolution _conv;
    private readonly ConvGeometry _geometry;

    public ConvLoraGeometry(Convolution conv)
    {
        _geometry = new ConvGeometry(conv);
        _conv = conv;
    }

    public override Parameter Weight => _conv.weight;

    public override Parameter? Bias => _conv.bias;

    public override long[] ChannelShape => new[] { _conv.weight.shape[0] }.Concat(Enumerable.Repeat(1L, _geometry.Dimensions)).ToArray();

    public override Tensor Factorised(Tensor input, Tensor a, Tensor b, double scale)
    {
        using var scope = NewDisposeScope();
        long groups = _geometry.Groups;
        Tensor down = groups == 1 ? a : a.repeat(new[] { groups }.Concat(Enumerable.Repeat(1L, (int)a.dim() - 1)).ToArray());
        Tensor reduced = _geometry.Apply(input, down, groups);
        Tensor up = b.Times(scale).reshape(new[] { b.shape[0], b.shape[1] }.Concat(Enumerable.Repeat(1L, _geometry.Dimensions)).ToArray());
        return _geometry.Pointwise(reduced, up, groups).MoveToOuterDisposeScope();
    }

    public override Tensor Materialised(Tensor input, Tensor delta) => _geometry.Apply(input, delta, _geometry.Groups);

    public override FloraCostEstimate Estimate(long[] inputShape, int rank, bool deltaBuilt)
    {
        int spatialStart = inputShape.Length - _geometry.Dimensions;
        double batch = spatialStart == 2 ? inputShape[0] : 1;
        double positions = _geometry.OutputPositions(inputShape);
        long[] shape = _conv.weight.shape;
        double kernel = 1;
        for (int i = 2; i < shape.Length; i++) kernel *= shape[i];
        double outChannels = shape[0], inPerGroup = shape[1], groups = _geometry.Groups;
        double factorised = batch * positions * rank * (groups * inPerGroup * kernel + outChannels);
        double materialised = batch * positions * outChannels * inPerGroup * kernel + (deltaBuilt ? 0 : BuildMacs(rank));
        return new FloraCostEstimate(factorised, materialised, batch * positions * groups * rank);
    }
}
