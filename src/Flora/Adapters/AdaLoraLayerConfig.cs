using System;
using System.Collections.Generic;

namespace Flora;

/// <summary>
/// The resolved configuration of one AdaLoRA adapter: its initial rank r (the rows of Q, the singular values Λ, the
/// columns of P), the target rank it counts towards the allocation's final budget, α, dropout and the forward path. The
/// scale is PEFT's <c>α/(ranknum + 1e-5)</c> with <c>ranknum</c> the initial rank, a constant that never follows the
/// masking (PEFT's <c>ranknum</c>).
/// </summary>
public sealed record AdaLoraLayerConfig
{
    /// <summary>The initial rank r: the number of triplets (P's columns, Λ's entries, Q's rows).</summary>
    public required int Rank { get; init; }

    /// <summary>
    /// The rank this target contributes to the final budget (PEFT's <c>target_r</c>): the allocation keeps the sum of the
    /// targets' ranks triplets in all, wherever they are most important.
    /// </summary>
    public required int TargetRank { get; init; }

    /// <summary>
    /// PEFT's <c>ranknum</c>, the divisor of the scale: null (Flora's adapters) is <see cref="Rank"/>. A file may record
    /// another value (PEFT keeps the initial rank here when it shrinks a layer to its kept triplets).
    /// </summary>
    public int? RankNum { get; init; }

    /// <summary>α, the numerator of the scale; null uses <see cref="EffectiveRankNum"/>, so that the scale is about 1.</summary>
    public double? Alpha { get; init; }

    /// <summary>Dropout probability on the adapter's input (the base layer always sees the input unchanged).</summary>
    public double Dropout { get; init; }

    /// <summary>The forward path of the unmerged adapter.</summary>
    public FloraForwardPath ForwardPath { get; init; }

    /// <summary>Whether the adapter tensors of a 16-bit base weight are float32 (<see cref="FloraModelOptions.AutocastAdapterDtype"/>).</summary>
    public bool AutocastAdapterDtype { get; init; } = true;

    /// <summary>The FLoRA trainable count the target rank was matched to, when it was matched; null when it was given.</summary>
    public long? MatchedBudget { get; init; }

    /// <summary>The matched target rank before it was clamped to an explicit initial rank below it; null when not clamped.</summary>
    public int? UnclampedTargetRank { get; init; }

    /// <summary>The divisor of the scale: <see cref="RankNum"/>, or <see cref="Rank"/> when it is not set.</summary>
    public int EffectiveRankNum => RankNum ?? Rank;

    /// <summary>The effective α: <see cref="Alpha"/>, or <see cref="EffectiveRankNum"/> when it is not set.</summary>
    public double EffectiveAlpha => Alpha ?? EffectiveRankNum;

    /// <summary>The update's scale, PEFT's <c>α/(ranknum + 1e-5)</c>.</summary>
    public double Scale => EffectiveAlpha / (EffectiveRankNum + 1e-5);

    /// <summary>
    /// The configuration of one AdaLoRA target of weight <paramref name="weightShape"/>, resolved on its own: the target
    /// rank is <see cref="AdaLoraOptions.TargetRank"/>, else the rank whose trainable count <c>r·(out + K + 1)</c> is closest
    /// to the target's FLoRA count (only then is FLoRA's configuration resolved); the initial rank is
    /// <see cref="AdaLoraOptions.InitRank"/>, else 1.5× the target rank rounded up. A matched target above an explicit
    /// initial rank is clamped to it (<see cref="UnclampedTargetRank"/> keeps the match); α is the target's, else the
    /// model's <c>LoraAlpha</c>, else the initial rank; dropout and the forward path come from the target, else the model.
    /// Throws, naming the layer, for settings out of range.
    /// </summary>
    internal static AdaLoraLayerConfig Resolve(string layer, IReadOnlyList<long> weightShape, FloraModelOptions model, FloraTargetOptions target, bool transposed = false)
    {
        ArgumentNullException.ThrowIfNull(weightShape);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(target);
        AdaLoraOptions options = model.AdaLora ?? new AdaLoraOptions();
        options.Validate();
        long? budget = null;
        int targetRank;
        if (options.TargetRank is int given)
        {
            targetRank = given;
        }
        else
        {
            budget = BudgetMatching.FloraReference(layer, weightShape, model, target, transposed, "AdaLoRA", "target rank", "AdaLoraOptions.TargetRank").TrainableParameters;
            targetRank = BaselineSizeRules.MatchedAdaLoraRank(weightShape, budget.Value);
        }
        int rank = options.InitRank ?? BaselineSizeRules.DefaultAdaLoraInitRank(weightShape, targetRank);
        int? unclamped = null;
        if (targetRank > rank)
        {
            unclamped = targetRank;
            targetRank = rank;
        }
        var config = new AdaLoraLayerConfig
        {
            Rank = rank,
            TargetRank = targetRank,
            Alpha = target.LoraAlpha ?? model.LoraAlpha,
            Dropout = target.Dropout ?? model.Dropout,
            ForwardPath = target.ForwardPath ?? model.ForwardPath,
            AutocastAdapterDtype = model.AutocastAdapterDtype,
            MatchedBudget = budget,
            UnclampedTargetRank = unclamped,
        };
        config.Validate(layer);
        return config;
    }

    /// <summary>
    /// The configuration an adapter file (or a PEFT directory, through its spec) records: ranks <c>[r, ranknum]</c>, α,
    /// and the target rank (the initial rank where the file has none).
    /// </summary>
    internal static AdaLoraLayerConfig FromSpec(AdapterSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        int rank = spec.Ranks[0], rankNum = spec.Ranks[1];
        return new AdaLoraLayerConfig
        {
            Rank = rank,
            RankNum = rankNum == rank ? null : rankNum,
            TargetRank = spec.TargetRank ?? rank,
            Alpha = spec.LoraAlpha ?? spec.Scale * (rankNum + 1e-5),
        };
    }

    /// <summary>Throws with the layer's name, the value and the fix when a setting is out of range.</summary>
    internal void Validate(string layer)
    {
        if (Rank < 1)
            throw new ArgumentException($"AdaLoRA initial rank {Rank} of '{layer}' is less than 1. Every AdaLoRA rank must be at least 1.");
        if (RankNum is < 1)
            throw new ArgumentException($"AdaLoRA ranknum {RankNum} of '{layer}' is less than 1: it divides the scale.");
        if (TargetRank < 1 || TargetRank > Rank)
            throw new ArgumentException($"AdaLoRA target rank {TargetRank} of '{layer}' is outside [1, {Rank}] (its initial rank): AdaLoRA only takes ranks away. " +
                                        "Use a target rank of at least 1 and at most the initial rank.");
        if (Alpha is double alpha && (!double.IsFinite(alpha) || alpha <= 0))
            throw new ArgumentException($"AdaLoRA alpha {alpha} of '{layer}' is not a finite number greater than 0. Leave LoraAlpha unset (α = the initial rank) or use a positive value.");
        if (!(Dropout >= 0 && Dropout < 1))
            throw new ArgumentException($"Dropout {Dropout} of '{layer}' is outside [0, 1). Use 0 to turn it off or a probability below 1.");
    }
}
