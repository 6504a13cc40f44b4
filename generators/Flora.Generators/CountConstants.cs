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

        /// <summary>Every constant's name, to look them up on a base type from another assembly.</summary>
        public static IEnumerable<string> Names => new[] { CountKind.Flora, CountKind.Houlsby, CountKind.AdaLora }.Select(Name);

        /// <summary>
        /// The counts, FLoRA's first; none when a part is unknown: a target's shape, a module to save's size, with
        /// <c>SaveNormLayers</c> a norm layer of the tree (<paramref name="norms"/>), a nested model (counted at run time),
        /// an invalid FLoRA rank, or a sum past <see cref="long.MaxValue"/>. Every method's count includes the modules to
        /// save and the norm layers, as the attachment trains them whatever the method. The analyzers say why under
        /// <c>SaveNormLayers</c> (FLORA013), reading the same <see cref="NormLayerScan"/>.
        /// </summary>
        public static List<(CountKind Kind, long Value)> For(IReadOnlyList<TargetSpec> targets, IReadOnlyList<SavedModuleSpec> saved, ModelHeader header, NormLayersSpec? norms)
        {
            var counts = new List<(CountKind, long)>();
            if (header.NestedMembers.Count > 0) return counts;
            long shared = 0;
            if (header.SaveNormLayers)
            {
                if (norms?.Parameters is not long known) return counts;
                shared = known;
            }
            if (targets.Count + saved.Count == 0 || targets.Any(t => !t.ShapeKnown) || saved.Any(m => m.Parameters is null)) return counts;
            foreach (var m in saved) shared = FloraRankRules.SaturatingAdd(shared, m.Parameters!.Value);

            var flora = new long[targets.Count];
            for (int i = 0; i < targets.Count; i++)
            {
                var t = targets[i];
                long? count = FloraRankRules.CountTarget(t.WeightShape, header.Rank, header.R3, t.Rank, t.InRank, t.OutRank, t.R3,
                    FloraLayerKinds.RowOf(t.Kind).Transposed);
                if (count is null) return counts;
                flora[i] = count.Value;
            }
            if (Total(flora.Select(c => (long?)c), shared) is not long floraTotal) return counts;
            counts.Add((CountKind.Flora, floraTotal));
            if (Total(targets.Select((t, i) => Houlsby(t, header, flora[i])), shared) is long houlsby) counts.Add((CountKind.Houlsby, houlsby));
            if (Total(targets.Select((t, i) => AdaLora(t, header, flora[i])), shared) is long adaLora) counts.Add((CountKind.AdaLora, adaLora));
            return counts;
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
            if (target.Kind == LayerKind.Embedding) return null; // AdaLoRA refuses embeddings (PEFT's has no embedding layer)
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
