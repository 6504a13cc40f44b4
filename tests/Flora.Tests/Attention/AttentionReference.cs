namespace Flora.Tests.Attention;

/// <summary>
/// Multi-head attention written out per sample and per head in double precision, from the weights it is given
/// (<c>W0 + ΔW</c>): q, k, v projections, the scaled dot products, masks, softmax, the weighted values and the out
/// projection — no batched views, so it shares nothing with the adapter's computation but the definition.
/// </summary>
internal static class AttentionReference
{
    public static (Tensor Output, Tensor Weights) Compute(Tensor inWeight, Tensor? inBias, Tensor outWeight, Tensor? outBias, long heads,
        Tensor query, Tensor key, Tensor value, Tensor? keyPaddingMask, Tensor? attnMask, Tensor? biasK = null, Tensor? biasV = null, bool zeroAttention = false)
    {
        long l = query.shape[0], n = query.shape[1], e = query.shape[2], d = e / heads;
        var w = inWeight.to(ScalarType.Float64);
        var b = inBias?.to(ScalarType.Float64) ?? zeros(3 * e, ScalarType.Float64);
        var outputs = new List<Tensor>();
        var weights = new List<Tensor>();
        for (long sample = 0; sample < n; sample++)
        {
            var xq = query.select(1, sample).to(ScalarType.Float64);
            var xk = key.select(1, sample).to(ScalarType.Float64);
            var xv = value.select(1, sample).to(ScalarType.Float64);
            var q = xq.matmul(w.narrow(0, 0, e).t()) + b.narrow(0, 0, e);
            var k = xk.matmul(w.narrow(0, e, e).t()) + b.narrow(0, e, e);
            var v = xv.matmul(w.narrow(0, 2 * e, e).t()) + b.narrow(0, 2 * e, e);
            var maskRow = keyPaddingMask?.select(0, sample);
            if (biasK is not null && biasV is not null)
            {
                k = cat(new[] { k, biasK.reshape(1, e).to(ScalarType.Float64) }, 0);
                v = cat(new[] { v, biasV.reshape(1, e).to(ScalarType.Float64) }, 0);
                maskRow = maskRow is null ? null : cat(new[] { maskRow, zeros(1, maskRow.dtype) }, 0);
            }
            var headOutputs = new List<Tensor>();
            var headWeights = zeros(l, k.shape[0] + (zeroAttention ? 1 : 0), ScalarType.Float64);
            for (long h = 0; h < heads; h++)
            {
                var qh = q.narrow(1, h * d, d);
                var kh = k.narrow(1, h * d, d);
                var vh = v.narrow(1, h * d, d);
                if (zeroAttention)
                {
                    kh = cat(new[] { kh, zeros(1, d, ScalarType.Float64) }, 0);
                    vh = cat(new[] { vh, zeros(1, d, ScalarType.Float64) }, 0);
                }
                var scores = qh.matmul(kh.t()) / System.Math.Sqrt(d);
                long s = scores.shape[1];
                if (attnMask is not null)
                {
                    var mask = attnMask.dim() == 2 ? attnMask : attnMask[sample * heads + h];
                    var padded = zeros(l, s, ScalarType.Float64);
                    padded.narrow(1, 0, mask.shape[1]).copy_(mask.to(ScalarType.Float64));
                    scores = scores + padded;
                }
                if (maskRow is not null)
                {
                    var ignored = zeros(s, ScalarType.Bool);
                    ignored.narrow(0, 0, maskRow.shape[0]).copy_(maskRow.to(ScalarType.Bool));
                    scores = scores.masked_fill(ignored.unsqueeze(0), double.NegativeInfinity);
                }
                var p = scores.softmax(1);
                headWeights = headWeights + p / heads;
                headOutputs.Add(p.matmul(vh));
            }
            var attended = cat(headOutputs.ToArray(), 1);
            var o = attended.matmul(outWeight.to(ScalarType.Float64).t());
            if (outBias is not null) o = o + outBias.to(ScalarType.Float64);
            outputs.Add(o);
            weights.Add(headWeights);
        }
        return (stack(outputs.ToArray(), 1), stack(weights.ToArray(), 0));
    }
}
