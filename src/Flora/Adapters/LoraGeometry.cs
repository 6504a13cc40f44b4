using System.Linq;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// How a LoRA update <c>ΔW = s·B·A</c> lies on a base layer type, in the matrix view of its weight
/// <c>[out, K]</c>, <c>K = (in/groups)·Πk</c>: A is <c>[r, in/groups, k…]</c> (the weight's shape with r outputs), B is
/// <c>[out, r]</c>, and <c>ΔW = reshape(B·flatten(A))</c>. The geometry runs that update on an input either factorised
/// (A, then B, never ΔW) or with a full-size weight (ΔW as a second layer, or <c>W0 + ΔW</c> in place of the base
/// layer), and estimates what each path costs.
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

    /// <summary>The base layer's forward with <paramref name="weight"/> (in the base weight's shape) and <paramref name="bias"/>.</summary>
    public abstract Tensor Apply(Tensor input, Tensor weight, Tensor? bias);

    /// <summary>Whether <paramref name="input"/> has a batch axis.</summary>
    public abstract bool IsBatched(Tensor input);

    /// <summary>
    /// The cost of each path for an input of <paramref name="inputShape"/> at rank <paramref name="rank"/>; for DoRA
    /// (<paramref name="dora"/>) every path builds ΔW for the norm and the unfused ones rescale the output.
    /// </summary>
    public abstract FloraCostEstimate Estimate(long[] inputShape, int rank, bool dora, FloraCostContext context);

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

    public override Tensor Apply(Tensor input, Tensor weight, Tensor? bias) => nn.functional.linear(input, weight, bias);

    public override bool IsBatched(Tensor input) => input.dim() >= 2;

    public override FloraCostEstimate Estimate(long[] inputShape, int rank, bool dora, FloraCostContext context)
    {
        double rows = 1;
        for (int i = 0; i < inputShape.Length - 1; i++) rows *= inputShape[i];
        double outFeatures = _linear.weight.shape[0], inFeatures = _linear.weight.shape[1];
        var layer = new LayerWork(rows * inFeatures, rows * outFeatures, outFeatures * inFeatures, rows * outFeatures * inFeatures, Convolution: false);
        ChainLink[] chain = { new(rows * rank * inFeatures, layer.InputElements, rows * rank), new(rows * rank * outFeatures, rows * rank, layer.OutputElements) };
        return FloraCostModel.Estimate(context, layer, chain, chainBuildMacs: 0, BuildMacs(rank), rescalesOutput: dora);
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

    public override Tensor Apply(Tensor input, Tensor weight, Tensor? bias) => _geometry.Apply(input, weight, _geometry.Groups, bias);

    public override bool IsBatched(Tensor input) => input.dim() == _geometry.Dimensions + 2;

    public override FloraCostEstimate Estimate(long[] inputShape, int rank, bool dora, FloraCostContext context)
    {
        int spatialStart = inputShape.Length - _geometry.Dimensions;
        double batch = spatialStart == 2 ? inputShape[0] : 1;
        double inputPositions = 1;
        for (int i = spatialStart; i < inputShape.Length; i++) inputPositions *= inputShape[i];
        double positions = _geometry.OutputPositions(inputShape);
        long[] shape = _conv.weight.shape;
        double kernel = 1;
        for (int i = 2; i < shape.Length; i++) kernel *= shape[i];
        double outChannels = shape[0], inPerGroup = shape[1], groups = _geometry.Groups;
        var layer = new LayerWork(batch * inputPositions * inPerGroup * groups, batch * positions * outChannels,
            outChannels * inPerGroup * kernel, batch * positions * outChannels * inPerGroup * kernel, Convolution: true);
        double reduced = batch * positions * groups * rank;
        ChainLink[] chain =
        {
            new(batch * positions * groups * rank * inPerGroup * kernel, layer.InputElements, reduced),
            new(batch * positions * outChannels * rank, reduced, layer.OutputElements),
        };
        return FloraCostModel.Estimate(context, layer, chain, chainBuildMacs: 0, BuildMacs(rank), rescalesOutput: dora);
    }
}
