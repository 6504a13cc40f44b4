using System;
using System.Collections.Generic;
using System.Linq;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// One target's layer of a weighted combination of named adapters (<see cref="FloraAttachment.AddWeightedAdapter"/>):
/// the new layer's tensors built from the sources' as <see cref="FloraCombination"/> says, in float64, and the relative
/// error <c>‖ΔW_new − Σ w_i ΔW_i‖_F / ‖Σ w_i ΔW_i‖_F</c> of the result (0 up to rounding for the exact combinations).
/// </summary>
internal static class WeightedCombination
{
    /// <summary>The method of the adapter that combines adapters of <paramref name="method"/> as <paramref name="combination"/> says.</summary>
    public static FloraMethod ResultMethod(FloraMethod method, FloraCombination combination) =>
        method == FloraMethod.Flora && combination == FloraCombination.Cat ? FloraMethod.Flora : FloraMethod.Lora;

    /// <summary>
    /// The spec of the combined layer on a target whose sources are <paramref name="sources"/> (all of one method, checked
    /// by the caller): LoRA of the summed rank (Cat), the common rank (Linear) or <paramref name="rank"/> (Svd), scale 1
    /// (α = r, as PEFT's <c>add_weighted_adapter</c> writes); FLoRA (Cat) with each mode's summed rank, scale 1.
    /// </summary>
    public static AdapterSpec Spec(IReadOnlyList<DeltaAdapterLayer> sources, FloraCombination combination, int rank)
    {
        var first = sources[0].Spec;
        if (sources[0] is FloraLayer && combination == FloraCombination.Cat)
        {
            var ranks = Enumerable.Range(0, first.Ranks.Length).Select(mode => sources.Sum(s => s.Spec.Ranks[mode])).ToArray();
            for (int mode = 0; mode < ranks.Length; mode++)
                if (ranks[mode] > first.WeightShape[mode])
                    throw new ArgumentException($"'{sources[0].Name}': the FLoRA ranks of mode {mode} add up to {ranks[mode]}, more than its size {first.WeightShape[mode]}, " +
                                                "so the exact block-diagonal combination does not fit. Use FloraCombination.Svd with a rank.");
            return first with { Ranks = ranks, Scale = 1.0, LoraAlpha = null, UseRsLora = false };
        }
        int r = combination switch
        {
            FloraCombination.Cat => sources.Sum(s => s.Spec.Ranks[0]),
            FloraCombination.Linear => sources[0].Spec.Ranks[0],
            _ => rank,
        };
        return first with { Ranks = new[] { r }, Scale = 1.0, LoraAlpha = r, UseRsLora = false };
    }

    /// <summary>Fills <paramref name="result"/> (made from <see cref="Spec"/>) from <paramref name="sources"/> and <paramref name="weights"/>; returns the relative error.</summary>
    public static double Fill(DeltaAdapterLayer result, IReadOnlyList<DeltaAdapterLayer> sources, IReadOnlyList<double> weights, FloraCombination combination)
    {
        using var scope = NewDisposeScope();
        using var guard = no_grad();
        switch (result)
        {
            case FloraLayer flora:
                FillFloraCat(flora, sources.Cast<FloraLayer>().ToList(), weights);
                break;
            case LoraLayer lora when combination == FloraCombination.Svd:
                FillSvd(lora, sources, weights);
                break;
            case LoraLayer lora:
                FillLora(lora, sources.Cast<LoraLayer>().ToList(), weights, combination);
                break;
        }
        var expected = WeightedSum(sources, weights);
        using var actual = result.Delta().to(ScalarType.Float64);
        double norm = expected.norm().item<double>();
        double error = (actual - expected).norm().item<double>();
        return norm == 0 ? error : error / norm;
    }

    /// <summary><c>Σ w_i ΔW_i</c> in float64, in the base weight's shape.</summary>
    private static Tensor WeightedSum(IReadOnlyList<DeltaAdapterLayer> sources, IReadOnlyList<double> weights)
    {
        Tensor sum = sources[0].Delta().to(ScalarType.Float64).mul(weights[0]);
        for (int i = 1; i < sources.Count; i++)
            sum = sum.add(sources[i].Delta().to(ScalarType.Float64), weights[i]);
        return sum;
    }

    /// <summary>
    /// An update as the matrix <c>M = B A</c> that LoRA's factors multiply out to: the weight flattened after its first
    /// axis, or transposed for an Embedding (PEFT's <c>lora_embedding_B @ lora_embedding_A</c> is ΔWᵀ).
    /// </summary>
    private static Tensor AsProduct(Tensor delta, bool embedding) => embedding ? delta.t() : delta.reshape(delta.shape[0], -1);

    private static bool IsEmbedding(DeltaAdapterLayer layer) => layer.BaseLayer is TorchSharp.Modules.Embedding;

    private static void FillLora(LoraLayer result, IReadOnlyList<LoraLayer> sources, IReadOnlyList<double> weights, FloraCombination combination)
    {
        var a = sources.Select(s => s.LoraA.detach().to(ScalarType.Float64).reshape(s.Config.Rank, -1)).ToList();
        var b = sources.Select(s => s.LoraB.detach().to(ScalarType.Float64).reshape(-1, s.Config.Rank)).ToList();
        Tensor newA, newB;
        if (combination == FloraCombination.Cat)
        {
            newA = cat(a.Select((ai, i) => ai.mul(weights[i] * sources[i].Config.Scale)).ToList(), 0);
            newB = cat(b, 1);
        }
        else
        {
            // PEFT's linear: the sign on A's side only, so that a negative weight is not squared away.
            newA = zeros_like(a[0]);
            newB = zeros_like(b[0]);
            for (int i = 0; i < sources.Count; i++)
            {
                double scaled = weights[i] * sources[i].Config.Scale;
                double root = Math.Sqrt(Math.Abs(scaled));
                newA.add_(a[i], Math.Sign(scaled) >= 0 ? root : -root);
                newB.add_(b[i], root);
            }
        }
        result.LoraA.copy_(newA.reshape(result.LoraA.shape));
        result.LoraB.copy_(newB.reshape(result.LoraB.shape));
    }

    /// <summary>PEFT's svd: <c>M = Σ w_i ΔW_i</c> as LoRA's product, <c>B = U_r S_r</c>, <c>A = V_rᵀ</c>.</summary>
    private static void FillSvd(LoraLayer result, IReadOnlyList<DeltaAdapterLayer> sources, IReadOnlyList<double> weights)
    {
        int rank = result.Config.Rank;
        var product = AsProduct(WeightedSum(sources, weights), IsEmbedding(result));
        var (u, s, vh) = linalg.svd(product, fullMatrices: false);
        int kept = (int)Math.Min(rank, s.shape[0]);
        var b = zeros(product.shape[0], rank, dtype: ScalarType.Float64);
        var a = zeros(rank, product.shape[1], dtype: ScalarType.Float64);
        b.narrow(1, 0, kept).copy_(u.narrow(1, 0, kept).mul(s.narrow(0, 0, kept)));
        a.narrow(0, 0, kept).copy_(vh.narrow(0, 0, kept));
        result.LoraA.copy_(a.reshape(result.LoraA.shape));
        result.LoraB.copy_(b.reshape(result.LoraB.shape));
    }

    /// <summary>FLoRA's exact sum: core <c>diag(w_i s_i G_i)</c> (blocks on the diagonal), each mode's factors side by side.</summary>
    private static void FillFloraCat(FloraLayer result, IReadOnlyList<FloraLayer> sources, IReadOnlyList<double> weights)
    {
        int modes = result.Factors.Count;
        var core = zeros(result.Core.shape, dtype: ScalarType.Float64);
        var offsets = new long[modes];
        for (int i = 0; i < sources.Count; i++)
        {
            Tensor block = core;
            for (int mode = 0; mode < modes; mode++) block = block.narrow(mode, offsets[mode], sources[i].Config.Ranks[mode]);
            block.copy_(sources[i].Core.detach().to(ScalarType.Float64).mul(weights[i] * sources[i].Config.Scale));
            for (int mode = 0; mode < modes; mode++) offsets[mode] += sources[i].Config.Ranks[mode];
        }
        result.Core.copy_(core);
        for (int mode = 0; mode < modes; mode++)
            result.Factor(mode).copy_(cat(sources.Select(s => s.Factor(mode).detach()).ToList(), 1));
    }
}
