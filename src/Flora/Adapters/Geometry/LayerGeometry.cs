using System;
using System.Linq;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>The sizes of one layer call that the cost model prices: batch (rows of a Linear), input and output positions.</summary>
/// <param name="Batch">Samples of a convolution; rows (every axis but the last) of a Linear.</param>
/// <param name="InputPositions">Spatial positions of the input (1 for a Linear).</param>
/// <param name="OutputPositions">Spatial positions of the output (1 for a Linear).</param>
internal readonly record struct LayerExtent(double Batch, double InputPositions, double OutputPositions);

/// <summary>
/// How one base layer kind (Linear, Conv1d/2d/3d with groups, padding modes and dilation, ConvTranspose1d/2d/3d, Embedding) computes,
/// serving every delta adapter (FLoRA, LoRA, DoRA, AdaLoRA) alike: the layer's call with a weight of one's own (the
/// materialised and fused paths), the factorised products in the weight's own mode order (<see cref="LowRank"/>,
/// <see cref="TuckerChain"/>), the output channels a per-channel rescale (DoRA) acts on, which inputs are batched, and
/// the sizes the cost model prices. The weight is <c>[out, in/groups, k…]</c> (a Linear: <c>[out, in]</c>; a transposed
/// convolution: <c>[in, out/groups, k…]</c>; an Embedding: <c>[num_embeddings, dim]</c>, its ids selecting rows); every product works per group, so it is exactly the grouped ΔW.
/// Users register layer types of their own with <see cref="FloraLayerTypes"/>, describing them by one of the factories.
/// </summary>
public abstract class LayerGeometry
{
    private protected LayerGeometry(long[] weightShape, long groups, bool transposed = false, bool takesIndices = false)
    {
        WeightShape = weightShape;
        Groups = groups;
        Transposed = transposed;
        TakesIndices = takesIndices;
        KernelAxes = weightShape.Length - 2;
        // An Embedding's [num_embeddings, dim]: its output channels (dim) are the weight's second axis.
        OutChannels = transposed ? groups * weightShape[1] : takesIndices ? weightShape[1] : weightShape[0];
        if (transposed)
        {
            // [in, out/g, k…] viewed as [g, in/g, out/g, k…]: output channel (j, o) is the slice [j, :, o, …].
            ChannelViewShape = new[] { groups, weightShape[0] / groups }.Concat(weightShape.Skip(1)).ToArray();
            WeightChannelShape = new[] { groups, 1L, weightShape[1] }.Concat(Enumerable.Repeat(1L, KernelAxes)).ToArray();
            ChannelNormAxes = new long[] { 1 }.Concat(Enumerable.Range(3, KernelAxes).Select(a => (long)a)).ToArray();
        }
        else if (takesIndices)
        {
            // Output channel d is the column [:, d]: its norm runs over the vocabulary (as PEFT's DoraEmbeddingLayer).
            ChannelViewShape = weightShape;
            WeightChannelShape = new[] { 1L, weightShape[1] };
            ChannelNormAxes = new long[] { 0 };
        }
        else
        {
            ChannelViewShape = weightShape;
            WeightChannelShape = ChannelShape(weightShape[0], weightShape.Length - 1);
            ChannelNormAxes = Enumerable.Range(1, weightShape.Length - 1).Select(a => (long)a).ToArray();
        }
        OutputChannelShape = ChannelShape(OutChannels, KernelAxes);
    }

    /// <summary>The base layer's current weight (TorchSharp replaces the object when the model moves).</summary>
    public abstract Parameter Weight { get; }

    /// <summary>The base layer's current bias, if it has one.</summary>
    public abstract Parameter? Bias { get; }

    /// <summary>The base weight's shape, <c>[out, in/groups, k…]</c> (a transposed convolution's: <c>[in, out/groups, k…]</c>).</summary>
    internal long[] WeightShape { get; }

    /// <summary>Whether the weight is a transposed convolution's, <c>[in, out/groups, k…]</c>: mode 0 is then the input channels.</summary>
    internal bool Transposed { get; }

    /// <summary>
    /// Whether the input holds indices (an Embedding's ids, selecting rows of its weight <c>[num_embeddings, dim]</c>, mode 0)
    /// rather than values of the adapter's dtype.
    /// </summary>
    internal bool TakesIndices { get; }

    /// <summary>The path the adapter takes when none is asked for, before the cost model (null: the cost model chooses).</summary>
    internal virtual FloraForwardPath? PreferredPath => null;

    /// <summary>The layer's output channels (<c>out</c>; a transposed convolution's <c>groups·(out/groups)</c>; an Embedding's dim).</summary>
    internal long OutChannels { get; }

    /// <summary>The view of the weight in which a per-output-channel factor of <see cref="WeightChannelShape"/> broadcasts (the weight's own shape unless transposed).</summary>
    internal long[] ChannelViewShape { get; }

    /// <summary>The axes of <see cref="ChannelViewShape"/> that the per-output-channel norm sums over.</summary>
    internal long[] ChannelNormAxes { get; }

    /// <summary>The convolution's groups (1 for a Linear).</summary>
    internal long Groups { get; }

    /// <summary>Number of kernel axes (0 for a Linear).</summary>
    internal int KernelAxes { get; }

    /// <summary>The shape that puts a per-output-channel vector on the out axis of the weight's <see cref="ChannelViewShape"/>: <c>[out, 1, …]</c> (transposed: <c>[g, 1, out/g, 1, …]</c>).</summary>
    internal long[] WeightChannelShape { get; }

    /// <summary>The shape that puts a per-output-channel vector on the output's channel axis (<c>[out]</c>, <c>[out, 1, 1]</c>).</summary>
    internal long[] OutputChannelShape { get; }

    /// <summary>The base layer's forward with <paramref name="weight"/> (the base weight's shape and groups) and <paramref name="bias"/>.</summary>
    internal abstract Tensor Apply(Tensor input, Tensor weight, Tensor? bias);

    /// <summary>
    /// <c>x ↦ layer(x; reshape(left·right))</c> without building the product: <paramref name="left"/> is <c>[W0, r]</c> (the
    /// weight's mode 0), <paramref name="right"/> <c>[r, W1, k…]</c> (the weight's other modes), as LoRA's B and A are.
    /// </summary>
    internal abstract Tensor LowRank(Tensor input, Tensor left, Tensor right);

    /// <summary>
    /// <c>x ↦ layer(x; K ×0 U0 ×1 U1)</c> without building it: <paramref name="mode0"/> <c>[W0, r0]</c>,
    /// <paramref name="mode1"/> <c>[W1, r1]</c> and the core kernel <paramref name="kernel"/> <c>[r0, r1, k…]</c> (the core
    /// with the kernel factors already applied), in the weight's mode order.
    /// </summary>
    internal abstract Tensor TuckerChain(Tensor input, Tensor mode0, Tensor mode1, Tensor kernel);

    /// <summary>The per-output-channel norm of <paramref name="weight"/> (the base weight's shape): <c>sqrt(Σ w²)</c> over each output channel's slice, shape <c>[out]</c>.</summary>
    internal Tensor ChannelNorm(Tensor weight)
    {
        using var view = weight.view(ChannelViewShape);
        using var squares = view.square();
        using var sum = squares.sum(ChannelNormAxes);
        if (!Transposed) return sum.sqrt();
        using var flat = sum.reshape(OutChannels);
        return flat.sqrt();
    }

    /// <summary><paramref name="weight"/> with each output channel's slice multiplied by <paramref name="perChannel"/> (<c>[out]</c>).</summary>
    internal Tensor ScaleChannels(Tensor weight, Tensor perChannel)
    {
        using var factor = perChannel.reshape(WeightChannelShape);
        if (!Transposed) return weight.mul(factor);
        using var view = weight.view(ChannelViewShape);
        using var scaled = view.mul(factor);
        return scaled.reshape(WeightShape);
    }

    /// <summary>Multiplies (or, with <paramref name="divide"/>, divides) each output channel's slice of <paramref name="weight"/> by <paramref name="perChannel"/> in place.</summary>
    internal void ScaleChannelsInPlace(Tensor weight, Tensor perChannel, bool divide = false)
    {
        using var factor = perChannel.reshape(WeightChannelShape);
        using var view = weight.view(ChannelViewShape);
        if (divide) view.div_(factor);
        else view.mul_(factor);
    }

    /// <summary>Whether an input of <paramref name="dimensions"/> axes has a batch axis.</summary>
    internal abstract bool IsBatched(long dimensions);

    /// <summary>The sizes of a call with an input of <paramref name="inputShape"/> (batched or not).</summary>
    internal abstract LayerExtent Extent(long[] inputShape);

    /// <summary>An Embedding: a row lookup of its weight <c>[num_embeddings, dim]</c> read through the accessor.</summary>
    internal static LayerGeometry Embedding(Func<Parameter> weight) => new EmbeddingGeometry(weight);

    /// <summary>A layer computing <c>linear(x, weight, bias)</c>, with its weight and bias read through the accessors.</summary>
    public static LayerGeometry Linear(Func<Parameter> weight, Func<Parameter?> bias)
    {
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(bias);
        return new LinearGeometry(weight, bias);
    }

    /// <summary>
    /// A layer computing what <paramref name="convolution"/> computes (stride, padding, padding mode, dilation, groups),
    /// with the weight and bias read through the accessors (by default the convolution's own). A transposed convolution
    /// gets <see cref="TransposedConvolution"/>'s geometry.
    /// </summary>
    public static LayerGeometry Convolution(Convolution convolution, Func<Parameter>? weight = null, Func<Parameter?>? bias = null)
    {
        ArgumentNullException.ThrowIfNull(convolution);
        if (convolution.transposed) return TransposedConvolution(convolution, weight, bias);
        return new ConvolutionGeometry(convolution, weight ?? (() => convolution.weight), bias ?? (() => convolution.bias));
    }

    /// <summary>
    /// A transposed convolution computing what <paramref name="convolution"/> (a <c>ConvTranspose1d/2d/3d</c>) computes
    /// (stride, padding, output padding, dilation, groups; zero padding only, as torch requires), its weight
    /// <c>[in, out/groups, k…]</c> and bias read through the accessors (by default the convolution's own).
    /// </summary>
    public static LayerGeometry TransposedConvolution(Convolution convolution, Func<Parameter>? weight = null, Func<Parameter?>? bias = null)
    {
        ArgumentNullException.ThrowIfNull(convolution);
        return new TransposedConvolutionGeometry(convolution, weight ?? (() => convolution.weight), bias ?? (() => convolution.bias));
    }

    private static long[] ChannelShape(long channels, int ones)
    {
        var shape = new long[1 + ones];
        Array.Fill(shape, 1L);
        shape[0] = channels;
        return shape;
    }
}
