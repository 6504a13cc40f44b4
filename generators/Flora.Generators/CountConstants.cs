using System;
using System.Collections.Generic;
using System.Linq;
using Flora.Generators.Model;

namespace Flora.Generators
{
    /// <summary>
    /// The compile-time trainable counts the generated code declares: their names, and their values from the specs alone
    /// (shapes, ranks, sizes) by the rules the runtime counts with (<see cref="FloraRankRules"/>, <see cref="BaselineSizeRules"/>).
    /// FLoRA's count is emitted when every part is known; Houlsby's and AdaLoRA's (at the initial rank) come with it,
    /// each left out when its own settings are invalid (FLORA002, FLORA014). Pfeiffer has none: which layer of a block
    /// carries its adapter depends on the order the parent module registers its children, which only the runtime sees.
    /// </summary>
    internal static class CountConstants
    {
        /// <summary>The constant's name in the generated code.</summary>
        public static string Name(CountKind kind) => kind switch
        {
            CountKind.Houlsby => "HoulsbyTrainableParameters",
            CountKind.AdaLora => "AdaLoraTrainableParameters",
            _ => "FloraTrainableParameters",
        };

        /// <summary>Every constant, to look them up on a base type from another assembly.</summary>
        public static IEnumerable<CountKind> Kinds => new[] { CountKind.Flora, CountKind.Houlsby, CountKind.AdaLora };

        /// <summary>
        /// The counts, FLoRA's first, of <paramref name="targets"/> (with <paramref name="header"/>'s settings where a target
        /// sets none) plus <paramref name="saved"/>, the modules to save and norm layers every method trains whole; none
        /// when there is nothing to count, a FLoRA rank is invalid, or the sum passes <see cref="long.MaxValue"/>.
        /// <see cref="TrainableCounter"/> gathers the parts, and gives up before this when one is unknown.
        /// </summary>
        public static List<(CountKind Kind, long Value)> For(IReadOnlyList<TargetSpec> targets, IEnumerable<long> saved, ModelHeader header)
        {
            var counts = new List<(CountKind, long)>();
            var savedParts = saved.ToList();
            if (targets.Count + savedParts.Count == 0) return counts;
            long shared = savedParts.Aggregate(0L, FloraRankRules.SaturatingAdd);

            var flora = new long[targets.Count];
            for (int i = 0; i < targets.Count; i++)
            {
                if (Flora(targets[i], header) is not long count) return counts;
                flora[i] = count;
            }
            if (Total(flora.Select(c => (long?)c), shared) is not long floraTotal) return counts;
            counts.Add((CountKind.Flora, floraTotal));
            if (Total(targets.Select((t, i) => Houlsby(t, header, flora[i])), shared) is long houlsby) counts.Add((CountKind.Houlsby, houlsby));
            if (Total(targets.Select((t, i) => AdaLora(t, header, flora[i])), shared) is long adaLora) counts.Add((CountKind.AdaLora, adaLora));
            return counts;
        }

        /// <summary>
        /// The trainable parameters of a target's FLoRA adapters (one per adapted weight: a MultiheadAttention has two, on
        /// in_proj and out_proj), ranks clamped to their modes; null for an unknown shape or an invalid rank.
        /// </summary>
        public static long? Flora(TargetSpec target, ModelHeader header)
        {
            if (!target.ShapeKnown) return null;
            bool transposed = FloraLayerKinds.RowOf(target.Kind).Transposed;
            long total = 0;
            foreach (var weight in FloraLayerKinds.AdaptedWeights(target.Kind, target.WeightShape))
            {
                if (FloraRankRules.CountTarget(weight, header.Rank, header.R3, target.Rank, target.InRank, target.OutRank, target.R3, transposed) is not long count)
                    return null;
                total = FloraRankRules.SaturatingAdd(total, count);
            }
            return total;
        }

        /// <summary>The sum of <paramref name="parts"/> and <paramref name="shared"/>; null when a part is unknown or the sum saturates.</summary>
        private static long? Total(IEnumerable<long?> parts, long shared)
        {
            long total = shared;
            foreach (var part in parts)
            {
                if (part is not long value) return null;
                total = FloraRankRules.SaturatingAdd(total, value);
            }
            return total == long.MaxValue ? null : total; // saturated: no meaningful constant
        }

        /// <summary>
        /// One Houlsby adapter on the target's output channels, its width the target's <c>AdapterSize</c>, else the model's,
        /// else the width matched to the target's FLoRA count; null for a width below 1 (FLORA002).
        /// </summary>
        private static long? Houlsby(TargetSpec target, ModelHeader header, long floraCount)
        {
            if (target.Kind == LayerKind.MultiheadAttention) return null; // the runtime refuses bottleneck adapters on a MultiheadAttention's projections
            // The output channels, on which the bottleneck acts (a transposed convolution's weight is [in, out/groups, k…]; an
            // Embedding's [num_embeddings, dim], its outputs the dim).
            long channels = FloraLayerKinds.RowOf(target.Kind).Transposed || target.Kind == LayerKind.Embedding ? target.OutChannels : target.WeightShape[0];
            try
            {
                int size = target.AdapterSize ?? header.AdapterSize ?? BaselineSizeRules.MatchedBottleneckSize(channels, floraCount);
                return size < 1 ? null : BaselineSizeRules.BottleneckParameters(channels, size);
            }
            catch (ArithmeticException)
            {
                return null; // past a long: no meaningful constant
            }
        }

        /// <summary>
        /// One AdaLoRA adapter at its initial rank: <c>AdaLoraInitRank</c>, else 1.5× the target rank (<c>AdaLoraTargetRank</c>,
        /// else the rank matched to the target's FLoRA count); null when a rank is below 1 (FLORA002) or the target rank
        /// exceeds the initial one (FLORA014).
        /// </summary>
        private static long? AdaLora(TargetSpec target, ModelHeader header, long floraCount)
        {
            int? targetRank = header.AdaLoraTargetRank, initRank = header.AdaLoraInitRank;
            // AdaLoRA refuses embeddings (PEFT's has no embedding layer) and MultiheadAttention (nor has PEFT's AdaLoRA).
            if (target.Kind is LayerKind.Embedding or LayerKind.MultiheadAttention) return null;
            if (targetRank < 1 || initRank < 1 || targetRank > initRank) return null;
            var shape = target.WeightShape;
            try
            {
                // The weight's matrix view (in/groups)·Πk must fit a long: the shared rules multiply it unchecked.
                long columns = 1;
                for (int i = 1; i < shape.Count; i++) columns = checked(columns * shape[i]);
                int rank = initRank ?? BaselineSizeRules.DefaultAdaLoraInitRank(shape, targetRank ?? BaselineSizeRules.MatchedAdaLoraRank(shape, floraCount));
                return BaselineSizeRules.AdaLoraParameters(shape, rank);
            }
            catch (ArithmeticException)
            {
                return null; // past a long: no meaningful constant
            }
        }
    }
}
