using System;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>The sizes of one layer call that the cost model prices: batch (rows of a Linear), input and output positions.</summary>
/// <param name="Batch">Samples of a convolution; rows (every axis but the last) of a Linear.</param>
/// <param name="InputPositions">Spatial positions of the input (1 for a Linear).</param>
/// <param name="OutputPositions">Spatial positions of the output (1 for a Linear).</param>
internal readonly record struct LayerExtent(double Batch, double InputPositions, double OutputPositions);

/// <summary>
/// How one base layer kind (Linear, Conv1d/2d/3d with groups, padding modes and dilation) computes, serving every delta
/// adapter (FLoRA, LoRA, DoRA) alike: the layer's call with a weight of one's own (the materialised and fused paths),
/// the factorised building blocks, which inputs are batched, and the sizes the cost model prices. The weight is
/// <c>[out, in/groups, k…]</c> (a Linear: <c>[out, in]</c>); every block works per group.
/// <list type="bullet">
/// <item><see cref="Reduce"/>: <c>in → r</c> per group with a factor <c>[in/groups, r]</c> (a 1×1 convolution, or <c>x·U</c>);</item>
/// <item><see cref="Spatial"/>: the base layer's own sliding (stride, padding, padding mode, dilation) with a kernel
/// <c>[r_out, c, k…]</c> shared by every group;</item>
/// <item><see cref="Expand"/>: <c>r → out</c> per group with a matrix <c>[out, r]</c> (row o reads its group's r channels).</item>
/// </list>
/// FLoRA's chain is Reduce → Spatial (the core kernel) → Expand; LoRA's is Spatial (A) → Expand (B).
/// Users register layer types of their own with <see cref="FloraLayerTypes"/>, describing them by one of the factories.
/// </summary>
public abstract class LayerGeometry
{
    private protected LayerGeometry(long[] weightShape, long groups, int inputAxis = 1)
    {
        WeightShape = weightShape;
        Groups = groups;
        InputAxis = inputAxis;
        KernelAxes = weightShape.Length - 2;
        if (inputAxis == 0)
        {
            // An Embedding: the output channels (dim) are the weight's second axis.
            WeightChannelShape = new[] { 1L, weightShape[1] };
            OutputChannelShape = new[] { weightShape[1] };
        }
        else
        {
            WeightChannelShape = ChannelShape(weightShape[0], weightShape.Length - 1);
            OutputChannelShape = ChannelShape(weightShape[0], KernelAxes);
        }
    }

    /// <summary>The base layer's current weight (TorchSharp replaces the object when the model moves).</summary>
    public abstract Parameter Weight { get; }

    /// <summary>The base layer's current bias, if it has one.</summary>
    public abstract Parameter? Bias { get; }

    /// <summary>The base weight's shape, <c>[out, in/groups, k…]</c>.</summary>
    internal long[] WeightShape { get; }

    /// <summary>
    /// The weight axis the input contracts with: 1 for <c>[out, in…]</c> (Linear, convolutions), 0 for an Embedding's
    /// <c>[num_embeddings, dim]</c>, whose ids select rows. FLoRA's chain reduces with this mode's factor and expands with
    /// the other's.
    /// </summary>
    internal int InputAxis { get; }

    /// <summary>Channels on the output's channel axis: the weight's out (an Embedding's dim).</summary>
    internal virtual long OutputChannels => WeightShape[0];

    /// <summary>Whether the input holds indices (an Embedding's ids) rather than values of the adapter's dtype.</summary>
    internal bool TakesIndices => InputAxis == 0;

    /// <summary>The path the adapter takes when none is asked for, before the cost model (null: the cost model chooses).</summary>
    internal virtual FloraForwardPath? PreferredPath => null;

    /// <summary>The convolution's groups (1 for a Linear).</summary>
    internal long Groups { get; }

    /// <summary>Number of kernel axes (0 for a Linear).</summary>
    internal int KernelAxes { get; }

    /// <summary>The shape that puts a per-output-channel vector on a weight's out axis: <c>[out, 1, …]</c>.</summary>
    internal long[] WeightChannelShape { get; }

    /// <summary>The shape that puts a per-output-channel vector on the output's channel axis (<c>[out]</c>, <c>[out, 1, 1]</c>).</summary>
    internal long[] OutputChannelShape { get; }

    /// <summary>The base layer's forward with <paramref name="weight"/> (the base weight's shape and groups) and <paramref name="bias"/>.</summary>
    internal abstract Tensor Apply(Tensor input, Tensor weight, Tensor? bias);

    /// <summary><c>in → r</c> per group with <paramref name="factor"/> <c>[in/groups, r]</c>.</summary>
    internal abstract Tensor Reduce(Tensor input, Tensor factor);

    /// <summary>The base layer's sliding with <paramref name="kernel"/> <c>[r_out, c, k…]</c>, the same kernel for every group.</summary>
    internal abstract Tensor Spatial(Tensor input, Tensor kernel);

    /// <summary><c>r → out</c> per group with <paramref name="matrix"/> <c>[out, r]</c>.</summary>
    internal abstract Tensor Expand(Tensor input, Tensor matrix);

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
    /// with the weight and bias read through the accessors (by default the convolution's own).
    /// </summary>
    public static LayerGeometry Convolution(Convolution convolution, Func<Parameter>? weight = null, Func<Parameter?>? bias = null)
    {
        ArgumentNullException.ThrowIfNull(convolution);
        return new ConvolutionGeometry(convolution, weight ?? (() => convolution.weight), bias ?? (() => convolution.bias));
    }

    private static long[] ChannelShape(long channels, int ones)
    {
        var shape = new long[1 + ones];
        Array.Fill(shape, 1L);
        shape[0] = channels;
        return shape;
    }
}
