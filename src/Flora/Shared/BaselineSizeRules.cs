// Shared by the runtime, the source generator and the analyzers (linked source): the sizes of the paper's other
// baselines (bottleneck adapters, AdaLoRA), their trainable counts, and the size matched to a FLoRA budget.
// Plain C# for netstandard2.0, no TorchSharp.
using System;
using System.Collections.Generic;

namespace Flora
{
    /// <summary>
    /// Trainable counts and budget matching of the Houlsby/Pfeiffer bottleneck adapters and of AdaLoRA, the way
    /// <c>BudgetMatching</c> does it for LoRA: the size whose count is closest to the FLoRA budget, ties to the smaller.
    /// <list type="bullet">
    /// <item>A bottleneck adapter of width m on a layer with <c>c</c> output channels: <c>down</c> <c>[m, c]</c> and its bias
    /// <c>[m]</c>, <c>up</c> <c>[c, m]</c> and its bias <c>[c]</c>: <c>2·c·m + m + c</c>.</item>
    /// <item>AdaLoRA at rank r on a weight <c>[out, in/groups, k…]</c> (matrix view <c>[out, K]</c>): P <c>[out, r]</c>,
    /// Λ <c>[r, 1]</c>, Q <c>[r, K]</c>: <c>r·(out + K + 1)</c>.</item>
    /// </list>
    /// </summary>
    internal static class BaselineSizeRules
    {
        /// <summary>Trainable scalars of a bottleneck adapter of width <paramref name="size"/> on <paramref name="channels"/> output channels.</summary>
        public static long BottleneckParameters(long channels, int size) => checked(2 * channels * size + size + channels);

        /// <summary>The bottleneck width (at least 1) whose count is closest to <paramref name="budget"/>.</summary>
        public static int MatchedBottleneckSize(long channels, long budget)
        {
            long perSize = 2 * channels + 1;
            long lower = Math.Max(1, (budget - channels) / perSize);
            long upper = lower + 1;
            long chosen = Math.Abs(BottleneckParameters(channels, (int)upper) - budget) < Math.Abs(BottleneckParameters(channels, (int)lower) - budget) ? upper : lower;
            return (int)Math.Min(chosen, int.MaxValue);
        }

        /// <summary>Trainable scalars of AdaLoRA at <paramref name="rank"/> on a weight of <paramref name="weightShape"/>.</summary>
        public static long AdaLoraParameters(IReadOnlyList<long> weightShape, int rank) => checked(rank * (weightShape[0] + Columns(weightShape) + 1));

        /// <summary>The AdaLoRA rank (1 to the weight's full rank) whose count is closest to <paramref name="budget"/>.</summary>
        public static int MatchedAdaLoraRank(IReadOnlyList<long> weightShape, long budget)
        {
            long perRank = checked(weightShape[0] + Columns(weightShape) + 1);
            long full = FloraRankRules.LoraFullRank(weightShape);
            long lower = Math.Min(Math.Max(1, budget / perRank), full);
            long upper = Math.Min(lower + 1, full);
            long rank = Math.Abs(upper * perRank - budget) < Math.Abs(lower * perRank - budget) ? upper : lower;
            return (int)rank;
        }

        /// <summary>AdaLoRA's initial rank when unset: 1.5× the target rank rounded up (PEFT's 12 for 8), at most the full rank and at least the target.</summary>
        public static int DefaultAdaLoraInitRank(IReadOnlyList<long> weightShape, int targetRank)
        {
            long full = FloraRankRules.LoraFullRank(weightShape);
            long init = Math.Min((3L * targetRank + 1) / 2, full);
            return (int)Math.Max(init, targetRank);
        }

        /// <summary><c>(in/groups)·Πk</c>: the columns of the weight's matrix view.</summary>
        private static long Columns(IReadOnlyList<long> weightShape)
        {
            long columns = 1;
            for (int i = 1; i < weightShape.Count; i++) columns = checked(columns * weightShape[i]);
            return columns;
        }
    }
}
