// Shared by the runtime, the source generator and the analyzers (linked source): the one place where
// FLoRA's ranks are resolved, clamped and counted. Plain C# for netstandard2.0, no TorchSharp.
using System;
using System.Collections.Generic;

namespace Flora
{
    /// <summary>The rank of one mode of a FLoRA adapter after resolution.</summary>
    internal readonly struct ModeRank
    {
        public ModeRank(int mode, long size, int requested, bool isExplicit)
        {
            Mode = mode;
            Size = size;
            Requested = requested;
            IsExplicit = isExplicit;
        }

        /// <summary>Position in the weight's layout: 0 out, 1 in/groups, 2.. kernel axes.</summary>
        public int Mode { get; }
        /// <summary>The weight's size along this mode.</summary>
        public long Size { get; }
        /// <summary>The rank asked for (explicitly on the target or inherited).</summary>
        public int Requested { get; }
        /// <summary>Whether the target itself set this rank (clamping it is then worth a warning).</summary>
        public bool IsExplicit { get; }
        /// <summary>The rank used: the requested one clamped to the mode's size.</summary>
        public int Effective => Requested > Size ? (int)Size : Requested;
        /// <summary>Whether the requested rank exceeded the mode's size.</summary>
        public bool IsClamped => Requested > Size;
        /// <summary>Whether this is a kernel axis (rank R3).</summary>
        public bool IsKernelAxis => Mode >= 2;
    }

    /// <summary>
    /// FLoRA's rank resolution and parameter counting: r_out = OutRank ?? Rank, r_in = InRank ?? Rank, every kernel axis
    /// R3, each clamped to its mode's size; one adapter trains <c>Π r_n + Σ I_n·r_n</c>.
    /// </summary>
    internal static class FloraRankRules
    {
        /// <summary>Model-wide defaults when neither the model nor the target sets a value.</summary>
        public const int DefaultRank = 8;
        public const int DefaultR3 = 1;
        public const double DefaultScale = 0.4;

        /// <summary>
        /// Resolves the rank of every mode of a weight shaped <c>[out, in/groups, k1, ...]</c>.
        /// <c>r_out = outRank ?? rank</c>, <c>r_in = inRank ?? rank</c>, every kernel axis <c>r3</c>.
        /// A value is explicit when the target itself set it (for r_out/r_in: OutRank/InRank, or Rank when those are unset).
        /// A <paramref name="transposed"/> convolution's weight is <c>[in, out/groups, k1, ...]</c>: mode 0 then takes
        /// <c>r_in</c> and mode 1 <c>r_out</c>, each in the weight's own mode order.
        /// </summary>
        public static ModeRank[] Resolve(IReadOnlyList<long> weightShape, int rank, bool rankExplicit,
            int? inRank, int? outRank, int r3, bool r3Explicit, bool transposed = false)
        {
            if (transposed)
            {
                int? swapped = inRank;
                inRank = outRank;
                outRank = swapped;
            }
            if (weightShape.Count < 2)
                throw new ArgumentException("a FLoRA weight has at least two modes (out, in)", nameof(weightShape));
            var modes = new ModeRank[weightShape.Count];
            modes[0] = new ModeRank(0, weightShape[0], outRank ?? rank, outRank.HasValue || rankExplicit);
            modes[1] = new ModeRank(1, weightShape[1], inRank ?? rank, inRank.HasValue || rankExplicit);
            for (int i = 2; i < modes.Length; i++)
                modes[i] = new ModeRank(i, weightShape[i], r3, r3Explicit);
            return modes;
        }

        /// <summary>Trainable parameters of one FLoRA adapter: <c>Π r_n + Σ I_n·r_n</c>.</summary>
        /// <exception cref="OverflowException">The count does not fit a long.</exception>
        public static long CountParameters(IReadOnlyList<ModeRank> modes)
        {
            var sizes = new long[modes.Count];
            var ranks = new int[modes.Count];
            for (int i = 0; i < modes.Count; i++)
            {
                sizes[i] = modes[i].Size;
                ranks[i] = modes[i].Effective;
            }
            return CountParameters(sizes, ranks);
        }

        /// <summary>Trainable parameters of a core of <paramref name="ranks"/> and one factor per mode of <paramref name="sizes"/>.</summary>
        /// <exception cref="OverflowException">The count does not fit a long.</exception>
        public static long CountParameters(IReadOnlyList<long> sizes, IReadOnlyList<int> ranks)
        {
            checked
            {
                long core = 1, factors = 0;
                for (int i = 0; i < ranks.Count; i++)
                {
                    core *= ranks[i];
                    factors += sizes[i] * ranks[i];
                }
                return core + factors;
            }
        }

        /// <summary>
        /// The trainable count of one target as <c>[FloraTarget]</c> and <c>[FloraModel]</c> set it, or null when its
        /// settings are invalid (a rank below 1, or an explicit R3 larger than a kernel axis: errors FLORA002/FLORA004).
        /// A count past <see cref="long.MaxValue"/> saturates to it.
        /// The generator's <c>FloraTrainableParameters</c> and the budget diagnostic FLORA008 both sum this.
        /// </summary>
        public static long? CountTarget(IReadOnlyList<long> weightShape, int modelRank, int modelR3, int? rank, int? inRank, int? outRank, int? r3,
            bool transposed = false)
        {
            int effectiveRank = rank ?? modelRank, effectiveR3 = r3 ?? modelR3;
            if (effectiveRank < 1 || effectiveR3 < 1 || inRank < 1 || outRank < 1) return null;
            var modes = Resolve(weightShape, effectiveRank, rank.HasValue, inRank, outRank, effectiveR3, r3.HasValue, transposed);
            foreach (var mode in modes)
                if (mode.IsKernelAxis && mode.IsExplicit && mode.IsClamped) return null;
            try
            {
                return CountParameters(modes);
            }
            catch (OverflowException)
            {
                return long.MaxValue; // saturates: over any budget, and no meaningful constant
            }
        }

        /// <summary>
        /// The full rank of a weight's matrix view <c>[out, (in/groups)·Πk]</c> for a weight shaped <c>[out, in/groups, k…]</c>:
        /// <c>min(shape[0], Π shape[1..])</c>, the largest LoRA/DoRA rank that adds anything. Saturates at
        /// <see cref="int.MaxValue"/> (a rank is an int).
        /// </summary>
        /// <exception cref="ArgumentException">The shape has fewer than two axes, or a size below 1.</exception>
        public static int LoraFullRank(IReadOnlyList<long> weightShape)
        {
            if (weightShape is null) throw new ArgumentNullException(nameof(weightShape));
            if (weightShape.Count < 2)
                throw new ArgumentException("a weight has at least two axes (out, in/groups)", nameof(weightShape));
            long columns = 1;
            for (int i = 0; i < weightShape.Count; i++)
            {
                if (weightShape[i] < 1) throw new ArgumentException("every axis of a weight has a size of at least 1", nameof(weightShape));
                if (i == 0) continue;
                // Past the cap the product no longer matters: min(out, columns) is then min(out, int.MaxValue).
                columns = columns > int.MaxValue / weightShape[i] ? int.MaxValue : columns * weightShape[i];
            }
            return (int)Math.Min(int.MaxValue, Math.Min(weightShape[0], columns));
        }

        /// <summary>
        /// The LoRA/DoRA rank used for <paramref name="rank"/> on a weight of <paramref name="weightShape"/>: the rank clamped
        /// to <see cref="LoraFullRank"/> (a larger rank adds parameters but no expressiveness).
        /// </summary>
        /// <exception cref="ArgumentOutOfRangeException"><paramref name="rank"/> is less than 1.</exception>
        public static int ClampLoraRank(IReadOnlyList<long> weightShape, int rank)
        {
            if (rank < 1) throw new ArgumentOutOfRangeException(nameof(rank), rank, "a LoRA rank is at least 1");
            return Math.Min(rank, LoraFullRank(weightShape));
        }

        /// <summary>Adds two non-negative counts, saturating at <see cref="long.MaxValue"/>.</summary>
        public static long SaturatingAdd(long a, long b) => a > long.MaxValue - b ? long.MaxValue : a + b;

        /// <summary>The name a message uses for a mode: out_features/in_features for Linear, out/in/kernel axis for convolutions.</summary>
        public static string DescribeMode(int mode, bool isLinear, bool transposed = false)
        {
            if (transposed && mode < 2) return mode == 0 ? "in_channels" : "out_channels/groups";
            if (mode == 0) return isLinear ? "out_features" : "out_channels";
            if (mode == 1) return isLinear ? "in_features" : "in_channels/groups";
            return "kernel axis " + (mode - 2);
        }

        /// <summary>
        /// The name of a mode of a <paramref name="kind"/> weight: an Embedding's are num_embeddings and embedding_dim; both
        /// modes of a MultiheadAttention's <c>out_proj</c> (the smaller of its two projections) are embed_dim.
        /// </summary>
        public static string DescribeMode(int mode, LayerKind kind) =>
            kind == LayerKind.Embedding && mode < 2 ? (mode == 0 ? "num_embeddings" : "embedding_dim")
                : kind == LayerKind.MultiheadAttention && mode < 2 ? "embed_dim"
                : DescribeMode(mode, kind == LayerKind.Linear, kind != LayerKind.Unsupported && FloraLayerKinds.RowOf(kind).Transposed);

        /// <summary>
        /// The key suffix of a mode's factor in adapter files and state dicts: out, in, k0, k1, ... (a transposed
        /// convolution's weight is <c>[in, out/groups, k…]</c>: in, out, k0, ...).
        /// </summary>
        public static string FactorKey(int mode, bool transposed = false) =>
            mode == 0 ? (transposed ? "in" : "out") : mode == 1 ? (transposed ? "out" : "in") : "k" + (mode - 2);
    }
}
