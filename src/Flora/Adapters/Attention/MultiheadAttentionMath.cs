using System;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// What libtorch's <c>MultiheadAttention</c> computes (TorchSharp 0.107 runs it natively, reading its own weights), written
/// with the projections as calls, so that adapters on them take part: inputs <c>[L, N, E]</c> (sequence first); the in
/// projection's <c>[…, 3E]</c> output split into q, k, v; <c>bias_k</c>/<c>bias_v</c> appended to the keys and values;
/// q scaled by <c>head_dim^-½</c>; <c>add_zero_attn</c>; a float <c>attn_mask</c> (2D <c>[L, S]</c> or 3D
/// <c>[N·heads, L, S]</c>) added to the scores as libtorch adds it (a bool mask adds 0 or 1); <c>key_padding_mask</c>
/// <c>[N, S]</c> (true: ignored) filled with −∞; softmax; dropout while training; the out projection; the weights averaged
/// over heads, <c>[N, L, S]</c>, when asked.
/// </summary>
internal static class MultiheadAttentionMath
{
    public static (Tensor Output, Tensor? Weights) Forward(MultiheadAttentionLayout layout, Func<Tensor, Tensor> inProjection, Func<Tensor, Tensor> outProjection,
        Tensor query, Tensor key, Tensor value, Tensor? keyPaddingMask, bool needWeights, Tensor? attnMask, Tensor? biasK, Tensor? biasV, double dropout, bool training)
    {
        using var scope = NewDisposeScope();
        long e = layout.EmbedDim, heads = layout.Heads, headDim = e / heads;
        long l = query.shape[0], n = query.shape[1];
        Tensor q, k, v;
        if (ReferenceEquals(query, key) && ReferenceEquals(key, value))
        {
            var qkv = inProjection(query).chunk(3, -1);
            (q, k, v) = (qkv[0], qkv[1], qkv[2]);
        }
        else
        {
            q = inProjection(query).narrow(-1, 0, e);
            k = inProjection(key).narrow(-1, e, e);
            v = ReferenceEquals(key, value) ? inProjection(key).narrow(-1, 2 * e, e) : inProjection(value).narrow(-1, 2 * e, e);
        }
        q = q * (1.0 / Math.Sqrt(headDim));
        if (biasK is not null && biasV is not null)
        {
            k = cat(new[] { k, biasK.expand(1, n, e).to(k.dtype) }, 0);
            v = cat(new[] { v, biasV.expand(1, n, e).to(v.dtype) }, 0);
            attnMask = PadLast(attnMask);
            keyPaddingMask = PadLast(keyPaddingMask);
        }
        q = q.contiguous().view(l, n * heads, headDim).transpose(0, 1);
        k = k.contiguous().view(-1, n * heads, headDim).transpose(0, 1);
        v = v.contiguous().view(-1, n * heads, headDim).transpose(0, 1);
        if (layout.AddZeroAttention)
        {
            k = cat(new[] { k, zeros(n * heads, 1, headDim, k.dtype, k.device) }, 1);
            v = cat(new[] { v, zeros(n * heads, 1, headDim, v.dtype, v.device) }, 1);
            attnMask = PadLast(attnMask);
            keyPaddingMask = PadLast(keyPaddingMask);
        }
        long s = k.shape[1];
        var scores = q.bmm(k.transpose(1, 2));
        if (attnMask is not null)
            scores = scores + (attnMask.dim() == 2 ? attnMask.unsqueeze(0) : attnMask).to(scores.dtype);
        if (keyPaddingMask is not null)
        {
            scores = scores.view(n, heads, l, s)
                .masked_fill(keyPaddingMask.to(ScalarType.Bool).unsqueeze(1).unsqueeze(2), double.NegativeInfinity)
                .view(n * heads, l, s);
        }
        var weights = scores.softmax(-1);
        if (dropout > 0 && training) weights = nn.functional.dropout(weights, dropout, training: true);
        var attended = weights.bmm(v).transpose(0, 1).contiguous().view(l, n, e);
        var output = outProjection(attended);
        Tensor? averaged = needWeights ? weights.view(n, heads, l, s).sum(1) / heads : null;
        output.MoveToOuterDisposeScope();
        averaged?.MoveToOuterDisposeScope();
        return (output, averaged);
    }

    /// <summary>A mask with one more key position (not masked), as libtorch pads it for an appended key.</summary>
    private static Tensor? PadLast(Tensor? mask) => mask is null ? null : nn.functional.pad(mask, new long[] { 0, 1 });
}

/// <summary>What of a <c>MultiheadAttention</c>'s construction its computation needs besides its weights.</summary>
/// <param name="EmbedDim">The model dimension E.</param>
/// <param name="Heads">The number of heads (E divisible by it).</param>
/// <param name="AddZeroAttention">Whether a zero key and value are appended (<c>add_zero_attn</c>).</param>
internal readonly record struct MultiheadAttentionLayout(long EmbedDim, long Heads, bool AddZeroAttention);
