using System;
using System.Collections.Generic;
using System.Globalization;

namespace Flora;

/// <summary>The LoRA (or DoRA) rank matched to one target's FLoRA budget, with both trainable counts.</summary>
/// <param name="Rank">The matched rank r (at least 1, at most the weight's full rank).</param>
/// <param name="FloraParameters">The target's FLoRA trainable count, the budget matched to.</param>
/// <param name="LoraParameters">The trainable count of LoRA (or DoRA) at <paramref name="Rank"/>.</param>
/// <param name="Dora">Whether the count is DoRA's (LoRA's plus one magnitude per output channel).</param>
public readonly record struct LoraBudget(int Rank, long FloraParameters, long LoraParameters, bool Dora)
{
    /// <summary>The match for reports, e.g. <c>FLoRA 1,234 → LoRA r=3, 1,260</c>.</summary>
    public override string ToString() =>
        string.Format(CultureInfo.CurrentCulture, "FLoRA {0:N0} → {1} r={2}, {3:N0}", FloraParameters, Dora ? "DoRA" : "LoRA", Rank, LoraParameters);
}

/// <summary>
/// Budget matching: per target, the LoRA or DoRA rank whose trainable count is closest to that target's
/// FLoRA count, so that methods are compared at equal budgets as the paper's tables are. With the base weight's matrix
/// view <c>[out, K]</c>, <c>K = (in/groups)·Πk</c> (every axis of the weight but the first), LoRA trains
/// <c>r·(out + K)</c> scalars and DoRA <c>r·(out + K) + out</c>. Ties go to the smaller rank; the rank is at least 1 and at
/// most the full rank <c>min(out, K)</c>, beyond which LoRA cannot express more.
/// </summary>
public static class BudgetMatching
{
    /// <summary>The rank of LoRA (<paramref name="dora"/> false) or DoRA (true) closest to <paramref name="flora"/>'s trainable count.</summary>
    /// <remarks>
    /// Grouped and depthwise convolutions need no group count here: <see cref="FloraLayerConfig.WeightShape"/> is already
    /// <c>[out, in/groups, k…]</c>, and LoRA's A factor has that per-group shape too.
    /// </remarks>
    public static LoraBudget LoraRank(FloraLayerConfig flora, bool dora)
    {
        ArgumentNullException.ThrowIfNull(flora);
        return LoraRank(flora, dora, flora.WeightShape[0]);
    }

    /// <summary>
    /// <see cref="LoraRank(FloraLayerConfig, bool)"/> for a layer of <paramref name="outChannels"/> output channels (DoRA's
    /// magnitudes): a transposed convolution's weight <c>[in, out/groups, k…]</c> has <c>groups·(out/groups)</c>, not mode 0.
    /// </summary>
    internal static LoraBudget LoraRank(FloraLayerConfig flora, bool dora, long outChannels)
    {
        long budget = flora.TrainableParameters;
        long perRank = flora.WeightShape[0] + ColumnCount(flora.WeightShape);
        long extra = dora ? outChannels : 0;
        long full = FullRank(flora.WeightShape);

        // The count grows linearly in r: the closest rank is the floor of the exact solution or the next one.
        long lower = Math.Clamp((budget - extra) / perRank, 1, full);
        long upper = Math.Min(lower + 1, full);
        long lowerCount = lower * perRank + extra, upperCount = upper * perRank + extra;
        long rank = Math.Abs(upperCount - budget) < Math.Abs(lowerCount - budget) ? upper : lower;
        return new LoraBudget((int)rank, budget, rank * perRank + extra, dora);
    }

    /// <summary>
    /// FLoRA's configuration of a target whose <paramref name="quantity"/> (LoRA's rank, a bottleneck's width, AdaLoRA's
    /// target rank) is matched to FLoRA's trainable count because <paramref name="setting"/> is unset. FLoRA's own
    /// refusals (a rank below 1, an explicit R3 larger than a kernel axis, a scale that is not positive) then say why
    /// FLoRA's settings matter to <paramref name="method"/> and how to do without them: set <paramref name="setting"/>.
    /// </summary>
    internal static FloraLayerConfig FloraReference(string layer, IReadOnlyList<long> weightShape, FloraModelOptions model, FloraTargetOptions target, bool transposed,
        string method, string quantity, string setting)
    {
        try
        {
            return FloraLayerConfig.Resolve(layer, weightShape, model, target, transposed);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{e.Message} {method}'s {quantity} of '{layer}' is matched to FLoRA's trainable count for it ({setting} is unset), " +
                                        $"and FLoRA refuses these settings, so there is no count to match. Fix FLoRA's settings, or set {setting} " +
                                        $"to choose the {quantity} without FLoRA's budget.", e);
        }
    }

    /// <summary>Trainable scalars of LoRA (or DoRA) at <paramref name="rank"/> on a weight of <paramref name="weightShape"/> (<c>[out, in/groups, k…]</c>).</summary>
    public static long LoraParameters(IReadOnlyList<long> weightShape, int rank, bool dora)
    {
        ArgumentNullException.ThrowIfNull(weightShape);
        return LoraParameters(weightShape, rank, dora, weightShape[0]);
    }

    /// <summary>LoRA's (or DoRA's) count on a weight of <paramref name="weightShape"/> in its own matrix view <c>[W0, Π rest]</c>, DoRA with one magnitude per each of <paramref name="outChannels"/>.</summary>
    internal static long LoraParameters(IReadOnlyList<long> weightShape, int rank, bool dora, long outChannels)
    {
        long count = rank * (weightShape[0] + ColumnCount(weightShape));
        return dora ? count + outChannels : count;
    }

    /// <summary>The full rank of the weight's matrix view <c>[out, (in/groups)·Πk]</c>: <c>min(out, (in/groups)·Πk)</c>.</summary>
    internal static int FullRank(IReadOnlyList<long> weightShape) => FloraRankRules.LoraFullRank(weightShape);

    /// <summary><c>(in/groups)·Πk</c>: the columns of the weight's matrix view.</summary>
    private static long ColumnCount(IReadOnlyList<long> weightShape)
    {
        if (weightShape.Count < 2)
            throw new ArgumentException($"a weight has at least two axes (out, in); got [{string.Join(", ", weightShape)}]", nameof(weightShape));
        long columns = 1;
        for (int i = 1; i < weightShape.Count; i++) columns *= weightShape[i];
        return columns;
    }
}
