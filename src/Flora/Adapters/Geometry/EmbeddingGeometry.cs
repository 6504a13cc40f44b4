using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// An Embedding layer: weight <c>[num_embeddings, dim]</c>, input integer ids of any shape, output <c>[…ids, dim]</c>. The
/// weight's first axis is the one the input selects (a row lookup, the one-hot product <c>onehot(ids)·W</c>), its second
/// the output's last axis, so the roles of the two modes are swapped with respect to a Linear's <c>[out, in]</c>
/// (<see cref="LayerGeometry.InputAxis"/> is 0). The input side of every factorised chain is a row gather
/// (<see cref="Reduce"/>); the rank-space blocks are matrix products on the last axis.
/// <para>
/// TorchSharp 0.107's <c>Embedding</c> exposes only its weight: its <c>padding_idx</c>, <c>max_norm</c>, <c>norm_type</c>,
/// <c>scale_grad_by_freq</c> and <c>sparse</c> live in the native module and cannot be read, and there is no
/// <c>functional.embedding</c>. The base layer still applies all of them to its own weight (its forward is its own); the
/// adapter's gathers are plain row gathers of the adapter's tensors (see README, "Embedding").
/// </para>
/// </summary>
internal sealed class EmbeddingGeometry : LayerGeometry
{
    private readonly Func<Parameter> _weight;

    public EmbeddingGeometry(Func<Parameter> weight) : base(Checked(weight().shape), groups: 1, inputAxis: 0)
    {
        _weight = weight;
    }

    public override Parameter Weight => _weight();

    /// <summary>An embedding has no bias.</summary>
    public override Parameter? Bias => null;

    /// <summary>The output's last axis: the embedding's dim.</summary>
    internal override long OutputChannels => WeightShape[1];

    /// <summary>The adapter's update runs factorised (a gather of rank-sized rows) unless a path is asked for.</summary>
    internal override FloraForwardPath? PreferredPath => FloraForwardPath.Factorised;

    /// <summary>The rows of <paramref name="weight"/> (<c>[num, dim]</c>) that <paramref name="input"/> selects; there is no bias.</summary>
    internal override Tensor Apply(Tensor input, Tensor weight, Tensor? bias) => Gather(input, weight);

    /// <summary>The rows of <paramref name="factor"/> (<c>[num, r]</c>) that the ids select: <c>[…ids, r]</c>.</summary>
    internal override Tensor Reduce(Tensor input, Tensor factor) => Gather(input, factor);

    /// <summary><c>x·K</c> with <paramref name="kernel"/> <c>[r_in-side, r_out-side]</c> (the core in weight order, <c>[r0, r1]</c>).</summary>
    internal override Tensor Spatial(Tensor input, Tensor kernel) => input.matmul(kernel);

    /// <summary><c>x·Mᵀ</c> with <paramref name="matrix"/> <c>[dim, r]</c>.</summary>
    internal override Tensor Expand(Tensor input, Tensor matrix) => nn.functional.linear(input, matrix);

    internal override bool IsBatched(long dimensions) => dimensions >= 2;

    internal override LayerExtent Extent(long[] inputShape)
    {
        double rows = 1;
        foreach (long size in inputShape) rows *= size;
        return new LayerExtent(rows, 1, 1);
    }

    /// <summary><c>table[ids]</c>: shape <c>[…ids, table.shape[1]]</c>, its backward an index-add into the table's rows.</summary>
    internal static Tensor Gather(Tensor ids, Tensor table) => table[TensorIndex.Tensor(ids)];

    private static long[] Checked(long[] shape) =>
        shape.Length == 2 ? shape : throw new ArgumentException($"an Embedding weight is [num_embeddings, dim]; got [{string.Join(", ", shape)}]");
}
