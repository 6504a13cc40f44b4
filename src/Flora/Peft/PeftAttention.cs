using System;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// PEFT's LoRA layer for <c>nn.MultiheadAttention</c> (<c>lora.MultiheadAttention</c> in peft/tuners/lora/layer.py) as it
/// meets Flora's <see cref="FloraMultiheadAttention"/>. PEFT adapts the attention layer <c>{attn}</c> that
/// <c>target_modules</c> selects through both projections, always together, with one rank and α resolved on the
/// attention's name (<c>rank_pattern</c>/<c>alpha_pattern</c> by <c>{attn}</c>): <c>in_proj_weight</c> <c>[3E, E]</c> as a
/// whole by the layer's own <c>lora_A</c> <c>[r, E]</c> / <c>lora_B</c> <c>[3E, r]</c>, and <c>out_proj</c> by a LoRA
/// Linear it puts in place of <c>base_layer.out_proj</c>. Its keys are therefore <c>{attn}.lora_A.weight</c> and
/// <c>{attn}.base_layer.out_proj.lora_A.weight</c> (and <c>lora_B</c>); Flora's adapters of the same projections are
/// <c>{attn}.in_proj</c> and <c>{attn}.out_proj</c>, Linear views of the same weights, so a LoRA computes the same on
/// either side. PEFT merges both updates into the weights for each call, so lora_dropout does not act on them; PEFT refuses
/// DoRA on this layer, and <c>kdim</c>/<c>vdim</c> unlike <c>embed_dim</c>.
/// <para>
/// PEFT's <c>MultiheadAttention.merge()</c> adds the out projection's update twice (it writes <c>W + ΔW</c> into
/// <c>out_proj</c>'s base weight, then calls <c>out_proj.merge()</c>, which adds <c>ΔW</c> again; <c>unmerge()</c>
/// subtracts both), and its forward merges for every call: PEFT's model computes <c>W_out + 2·s·B·A</c>
/// (huggingface/peft#3774, open at the PEFT commit the fixtures were made with). Flora reproduces what PEFT computes:
/// it imports the out projection's LoRA with <see cref="OutProjectionApplications"/> times PEFT's α, and exports it with A
/// divided by the same factor. Where PEFT applies the update once, this constant becomes 1 (the fixtures then fail).
/// </para>
/// </summary>
internal static class PeftAttention
{
    /// <summary>What PEFT's names add to the attention's path for its out projection's LoRA.</summary>
    private const string OutProjectionSuffix = ".base_layer.out_proj";

    /// <summary>How many times PEFT's <c>lora.MultiheadAttention</c> adds the out projection's <c>s·B·A</c> to its weight (huggingface/peft#3774).</summary>
    public const double OutProjectionApplications = 2;

    /// <summary>The name of Flora's adapter on <c>in_proj_weight</c>, after the attention's path.</summary>
    public const string InProjection = "in_proj";

    /// <summary>The name of Flora's adapter on <c>out_proj</c>, after the attention's path.</summary>
    public const string OutProjection = "out_proj";

    /// <summary>The PEFT path whose <c>lora_A</c>/<c>lora_B</c> hold the out projection's LoRA of the attention at <paramref name="attention"/>.</summary>
    public static string OutProjectionPath(string attention) => attention + OutProjectionSuffix;

    /// <summary>The attention's PEFT path when <paramref name="peftPath"/> names its out projection's LoRA (<c>{attn}.base_layer.out_proj</c>), else null.</summary>
    public static string? AttentionOfOutProjection(string peftPath) =>
        peftPath.EndsWith(OutProjectionSuffix, StringComparison.Ordinal) ? peftPath[..^OutProjectionSuffix.Length] : null;

    /// <summary>The attention layer's model path and the projection (<see cref="InProjection"/> or <see cref="OutProjection"/>) when <paramref name="adapter"/> adapts one, else null.</summary>
    public static (string Attention, string Projection)? ProjectionOf(IFloraAdapter adapter)
    {
        if (adapter.BaseLayer is not MultiheadAttentionProjection) return null;
        int dot = adapter.Name.LastIndexOf('.');
        return (adapter.Name[..dot], adapter.Name[(dot + 1)..]);
    }

    /// <summary>The name PEFT's <c>target_modules</c> must select for <paramref name="adapter"/>: the attention layer's for a projection, else its own.</summary>
    public static string TargetName(IFloraAdapter adapter) => ProjectionOf(adapter)?.Attention ?? adapter.Name;

    /// <summary>The weight shape of the projection <paramref name="projection"/> of <paramref name="attention"/> (<c>[3E, E]</c> or <c>[E, E]</c>); null when it has separate q, k, v weights.</summary>
    public static long[]? WeightShape(MultiheadAttention attention, string projection) =>
        attention.get_parameter(projection == InProjection ? "in_proj_weight" : "out_proj.weight")?.shape;

    /// <summary>How many times PEFT applies the LoRA of <paramref name="projection"/> (<see cref="OutProjectionApplications"/> for the out projection, else once).</summary>
    public static double ApplicationsOf(string projection) => projection == OutProjection ? OutProjectionApplications : 1;

    /// <summary>
    /// A LoRA <c>(A [r, in], B [out, r])</c> rewritten at rank <paramref name="rank"/> ≥ r with A times
    /// <paramref name="ratio"/>, A's extra rows and B's extra columns zero: at the scale <c>s/ratio</c> it computes
    /// <c>s·BA</c> (up to the one rounding of the product). PEFT gives both projections one rank and α.
    /// </summary>
    public static (Tensor A, Tensor B) AtRank(Tensor a, Tensor b, double ratio, long rank)
    {
        long extra = rank - a.shape[0];
        if (extra < 0) throw new ArgumentOutOfRangeException(nameof(rank), $"rank {rank} is below the LoRA's {a.shape[0]}");
        Tensor scaled = ratio == 1 ? a : a.mul(ratio);
        return extra == 0 ? (scaled, b) : (nn.functional.pad(scaled, new[] { 0L, 0, 0, extra }), nn.functional.pad(b, new[] { 0L, extra }));
    }
}
