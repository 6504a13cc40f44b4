using System;
using System.Collections.Generic;
using System.Linq;

namespace Flora;

/// <summary>
/// The resolved configuration of one LoRA or DoRA adapter: rank r, α (the scale is <c>α/r</c>, or <c>α/√r</c> for
/// rank-stabilised LoRA), dropout on the adapter's input and the forward path. It does not depend on the layer's
/// shape, so one configuration serves any layer.
/// </summary>
public sealed record LoraLayerConfig
{
    /// <summary>The rank r of <c>ΔW = (α/r)·B·A</c>.</summary>
    public required int Rank { get; init; }

    /// <summary>α; null uses the rank, so that the scale is 1 (PEFT's usual <c>lora_alpha = r</c>).</summary>
    public double? Alpha { get; init; }

    /// <summary>Scale by <c>α/√r</c> (rsLoRA) instead of <c>α/r</c>.</summary>
    public bool UseRsLora { get; init; }

    /// <summary>Dropout probability on the adapter's input (the base layer always sees the input unchanged).</summary>
    public double Dropout { get; init; }

    /// <summary>The forward path of the unmerged adapter.</summary>
    public FloraForwardPath ForwardPath { get; init; }

    /// <summary>Whether the adapter tensors of a 16-bit base weight are float32 (<see cref="FloraModelOptions.AutocastAdapterDtype"/>).</summary>
    public bool AutocastAdapterDtype { get; init; } = true;

    /// <summary>The FLoRA budget this rank was matched to, when budget matching chose it; null when the rank was given directly.</summary>
    public LoraBudget? MatchedBudget { get; init; }

    /// <summary>The effective α: <see cref="Alpha"/>, or the rank when it is not set.</summary>
    public double EffectiveAlpha => Alpha ?? Rank;

    /// <summary>The update's scale: <c>α/r</c>, or <c>α/√r</c> with <see cref="UseRsLora"/>.</summary>
    public double Scale => UseRsLora ? EffectiveAlpha / Math.Sqrt(Rank) : EffectiveAlpha / Rank;

    /// <summary>
    /// The configuration of a target adapted by LoRA (<paramref name="dora"/> false) or DoRA (true) at the rank matched to
    /// its FLoRA budget <paramref name="flora"/>, with α and rsLoRA from <paramref name="model"/> and the dropout and
    /// forward path the FLoRA configuration resolved for the target.
    /// </summary>
    public static LoraLayerConfig Matched(FloraLayerConfig flora, FloraModelOptions model, bool dora) =>
        For("layer", flora, model, FloraTargetOptions.Inherit, dora);

    /// <summary>
    /// The configuration of one LoRA (or DoRA) target: at the rank the target or the model sets (<c>LoraRank</c>, PEFT's
    /// <c>r</c> and <c>rank_pattern</c>; clamped to the weight's full rank <c>min(out, (in/groups)·Πk)</c>), else at the
    /// rank matched to the target's FLoRA budget <paramref name="flora"/>; α from the target, else the model (PEFT's
    /// <c>alpha_pattern</c> and <c>lora_alpha</c>); rsLoRA from the model; dropout and forward path as resolved for FLoRA.
    /// Throws, naming the layer, for a rank below 1 or an α that is not a finite positive number.
    /// </summary>
    internal static LoraLayerConfig For(string layer, FloraLayerConfig flora, FloraModelOptions model, FloraTargetOptions target, bool dora, long? outChannels = null)
    {
        ArgumentNullException.ThrowIfNull(flora);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(target);
        if ((target.LoraRank ?? model.LoraRank) is int requested)
            return Create(layer, ChosenRank(layer, flora.WeightShape, requested), null, model, target, flora.Dropout, flora.ForwardPath, flora.AutocastAdapterDtype);
        LoraBudget budget = BudgetMatching.LoraRank(flora, dora, outChannels ?? flora.WeightShape[0]);
        return Create(layer, budget.Rank, budget, model, target, flora.Dropout, flora.ForwardPath, flora.AutocastAdapterDtype);
    }

    /// <summary>
    /// The configuration of one LoRA (or DoRA) target of weight <paramref name="weightShape"/>, resolved on its own: at a
    /// chosen <c>LoraRank</c> no FLoRA setting is read (a FLoRA rank or R3 that FLoRA would refuse does not matter to
    /// LoRA); only the rank matched to FLoRA's budget resolves FLoRA's configuration (<see cref="For"/>). Dropout and the
    /// forward path come from the target, else the model.
    /// </summary>
    internal static LoraLayerConfig Resolve(string layer, IReadOnlyList<long> weightShape, FloraModelOptions model, FloraTargetOptions target, bool dora,
        bool transposed = false, long? outChannels = null)
    {
        ArgumentNullException.ThrowIfNull(weightShape);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(target);
        if ((target.LoraRank ?? model.LoraRank) is not int requested)
            return For(layer, BudgetMatching.FloraReference(layer, weightShape, model, target, transposed, dora ? "DoRA" : "LoRA", "rank", "LoraRank"), model, target, dora, outChannels);
        return Create(layer, ChosenRank(layer, weightShape, requested), null, model, target,
            target.Dropout ?? model.Dropout, target.ForwardPath ?? model.ForwardPath, model.AutocastAdapterDtype);
    }

    private static int ChosenRank(string layer, IReadOnlyList<long> weightShape, int requested) => requested >= 1
        ? FloraRankRules.ClampLoraRank(weightShape, requested)
        : throw new ArgumentException($"LoraRank {requested} of '{layer}' is less than 1. Every LoRA rank must be at least 1 (leave LoraRank unset to match FLoRA's budget).");

    private static LoraLayerConfig Create(string layer, int rank, LoraBudget? budget, FloraModelOptions model, FloraTargetOptions target,
        double dropout, FloraForwardPath forwardPath, bool autocastAdapterDtype)
    {
        var config = new LoraLayerConfig
        {
            Rank = rank,
            Alpha = target.LoraAlpha ?? model.LoraAlpha,
            UseRsLora = model.UseRsLora,
            Dropout = dropout,
            ForwardPath = forwardPath,
            AutocastAdapterDtype = autocastAdapterDtype,
            MatchedBudget = budget,
        };
        config.Validate(layer);
        return config;
    }

    /// <summary>
    /// The configuration an adapter file records for a LoRA/DoRA target: its rank, and α and rsLoRA where the file has
    /// them (format 2); older files recorded only the scale, which then stands for α/r.
    /// </summary>
    internal static LoraLayerConfig FromSpec(AdapterSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        int rank = spec.Ranks[0];
        return new LoraLayerConfig
        {
            Rank = rank,
            Alpha = spec.LoraAlpha ?? spec.Scale * rank,
            UseRsLora = spec.LoraAlpha is not null && spec.UseRsLora,
        };
    }

    /// <summary>Throws with the layer's name, the value and the fix when a setting is out of range.</summary>
    internal void Validate(string layer)
    {
        if (Rank < 1)
            throw new ArgumentException($"LoRA rank {Rank} of '{layer}' is less than 1. Every LoRA rank must be at least 1.");
        if (Alpha is double alpha && (!double.IsFinite(alpha) || alpha <= 0))
            throw new ArgumentException($"LoRA alpha {alpha} of '{layer}' is not a finite number greater than 0. Leave LoraAlpha unset (α = r) or use a positive value.");
        if (!(Dropout >= 0 && Dropout < 1))
            throw new ArgumentException($"Dropout {Dropout} of '{layer}' is outside [0, 1). Use 0 to turn it off or a probability below 1.");
    }
}
