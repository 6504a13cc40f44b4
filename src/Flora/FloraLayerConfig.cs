using System;
using System.Collections.Generic;
using System.Linq;

namespace Flora;

/// <summary>The resolved configuration of one FLoRA adapter: effective ranks per mode, scale, dropout and path.</summary>
public sealed record FloraLayerConfig
{
    /// <summary>The base weight's shape, <c>[out, in/groups, k1, ...]</c>.</summary>
    public required long[] WeightShape { get; init; }
    /// <summary>The effective (clamped) rank of each mode, in the weight's mode order.</summary>
    public required int[] Ranks { get; init; }
    /// <summary>The constant scale s.</summary>
    public required double Scale { get; init; }
    /// <summary>Dropout probability on the adapter's input.</summary>
    public double Dropout { get; init; }
    /// <summary>The forward path of the unmerged adapter.</summary>
    public FloraForwardPath ForwardPath { get; init; }
    /// <summary>Whether the adapter tensors of a 16-bit base weight are float32 (<see cref="FloraModelOptions.AutocastAdapterDtype"/>).</summary>
    public bool AutocastAdapterDtype { get; init; } = true;

    /// <summary>Trainable parameters: <c>Π r_n + Σ I_n·r_n</c>.</summary>
    public long TrainableParameters => FloraRankRules.CountParameters(WeightShape, Ranks);

    /// <summary>
    /// Resolves the target's settings against the model's for a weight of the given shape, clamping ranks
    /// larger than their mode (a depthwise conv's in/groups = 1 gives r_in = 1). Throws with the layer's name,
    /// the value, the limit and the fix for a rank below 1, an explicit R3 larger than a kernel axis, a scale that
    /// is not finite and positive, or a dropout outside [0, 1).
    /// </summary>
    public static FloraLayerConfig Resolve(string layer, IReadOnlyList<long> weightShape, FloraModelOptions model, FloraTargetOptions target) =>
        Resolve(layer, weightShape, model, target, transposed: false);

    /// <summary>
    /// <see cref="Resolve(string, IReadOnlyList{long}, FloraModelOptions, FloraTargetOptions)"/> for a weight in the layout
    /// of a <paramref name="transposed"/> convolution, <c>[in, out/groups, k…]</c>: mode 0 takes <c>InRank ?? Rank</c>,
    /// mode 1 <c>OutRank ?? Rank</c>.
    /// </summary>
    internal static FloraLayerConfig Resolve(string layer, IReadOnlyList<long> weightShape, FloraModelOptions model, FloraTargetOptions target, bool transposed)
    {
        CheckRank(layer, "Rank", target.Rank ?? model.Rank);
        if (target.InRank is int inRank) CheckRank(layer, "InRank", inRank);
        if (target.OutRank is int outRank) CheckRank(layer, "OutRank", outRank);
        int r3 = target.R3 ?? model.R3;
        CheckRank(layer, "R3", r3);
        double scale = target.Scale ?? model.Scale;
        if (!double.IsFinite(scale) || scale <= 0)
            throw new ArgumentException($"Scale {scale} of '{layer}' is not a finite number greater than 0. Use a positive scale such as the paper's 0.4.");
        double dropout = target.Dropout ?? model.Dropout;
        if (!(dropout >= 0 && dropout < 1))
            throw new ArgumentException($"Dropout {dropout} of '{layer}' is outside [0, 1). Use 0 to turn it off or a probability below 1.");

        ModeRank[] modes = FloraRankRules.Resolve(weightShape, target.Rank ?? model.Rank, target.Rank.HasValue,
            target.InRank, target.OutRank, r3, target.R3.HasValue, transposed);
        foreach (var mode in modes.Where(m => m.IsKernelAxis && m.IsExplicit && m.IsClamped))
            throw new ArgumentException($"R3 {mode.Requested} of '{layer}' exceeds {FloraRankRules.DescribeMode(mode.Mode, false)} of size {mode.Size} " +
                                        $"(weight shape [{string.Join(", ", weightShape)}]). Use R3 ≤ {mode.Size}, or leave R3 unset to inherit it (inherited ranks are clamped).");
        return new FloraLayerConfig
        {
            WeightShape = weightShape.ToArray(),
            Ranks = modes.Select(m => m.Effective).ToArray(),
            Scale = scale,
            Dropout = dropout,
            ForwardPath = target.ForwardPath ?? model.ForwardPath,
            AutocastAdapterDtype = model.AutocastAdapterDtype,
        };
    }

    private static void CheckRank(string layer, string name, int value)
    {
        if (value < 1)
            throw new ArgumentException($"{name} {value} of '{layer}' is less than 1. Every FLoRA rank must be at least 1.");
    }

    /// <inheritdoc />
    public bool Equals(FloraLayerConfig? other) =>
        other is not null && WeightShape.SequenceEqual(other.WeightShape) && Ranks.SequenceEqual(other.Ranks)
        && Scale.Equals(other.Scale) && Dropout.Equals(other.Dropout) && ForwardPath == other.ForwardPath
        && AutocastAdapterDtype == other.AutocastAdapterDtype;

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(string.Join(",", WeightShape), string.Join(",", Ranks), Scale, Dropout, ForwardPath, AutocastAdapterDtype);
}
