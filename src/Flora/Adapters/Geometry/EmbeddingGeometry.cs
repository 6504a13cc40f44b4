using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// An Embedding layer: weight <c>[num_embeddings, dim]</c>, input integer ids of any shape, output <c>[…ids, dim]</c>. The
/// weight's first axis is the one the input selects (a row lookup, the one-hot product <c>onehot(ids)·W</c>), its second
/// the output's last axis, so the roles of the two modes are swapped with respect to a Linear's <c>[out, in]</c>
/// (<see cref="LayerGeometry.TakesIndices"/>). The factorised products keep the weight's mode order: the mode-0 factor
/// (<c>[num_embeddings, r]</c>) is the input side, a row gather by the ids, and the rest are matrix products on the last
/// axis (<see cref="LowRank"/>, <see cref="TuckerChain"/>).
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

    public EmbeddingGeometry(Func<Parameter> weight) : base(Checked(weight().shape), groups: 1, takesIndices: true)
    {
        _weight = weight;
    }

    public override Parameter Weight => _weight();

    /// <summary>An embedding has no bias.</summary>
    public override Parameter? Bias => null;

    /// <summary>The adapter's update runs factorised (a gather of rank-sized rows) unless a path is asked for.</summary>
    internal override FloraForwardPath? PreferredPath => FloraForwardPath.Factorised;

    /// <summary>The rows of <paramref name="weight"/> (<c>[num, dim]</c>) that <paramref name="input"/> selects; there is no bias.</summary>
    internal override Tensor Apply(Tensor input, Tensor weight, Tensor? bias) => Gather(input, weight);

    /// <remarks><c>left[ids]·right</c>: the rows of <paramref name="left"/> <c>[num, r]</c> that the ids select, then <paramref name="right"/> <c>[r, dim]</c>.</remarks>
    internal override Tensor LowRank(Tensor input, Tensor left, Tensor right)
    {
        using var rows = Gather(input, left);
        return rows.matmul(right);
    }

    /// <remarks><c>(U0[ids]·K)·U1ᵀ</c>: the rows of <paramref name="mode0"/> <c>[num, r0]</c> that the ids select, the core <paramref name="kernel"/> <c>[r0, r1]</c>, then <paramref name="mode1"/> <c>[dim, r1]</c>.</remarks>
    internal override Tensor TuckerChain(Tensor input, Tensor mode0, Tensor mode1, Tensor kernel)
    {
        using var rows = Gather(input, mode0);
        using var core = rows.matmul(kernel);
        return nn.functional.linear(core, mode1);
    }

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
