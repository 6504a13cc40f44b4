using System;
using System.Globalization;
using System.Linq;

namespace Flora;

/// <summary>
/// What identifies an adapter's shape in adapter files and reports: the base layer's type and weight shape, the
/// method's ranks (FLoRA: one per mode; LoRA/DoRA: one; AdaLoRA: the rank and PEFT's <c>ranknum</c>) and its scale. LoRA and DoRA also record what defines their
/// scale (α and whether it is divided by √r), so that a file rebuilds exactly the adapter that wrote it.
/// </summary>
/// <param name="LayerType">The base layer's type name, e.g. <c>Conv2d</c>.</param>
/// <param name="WeightShape">The base weight's shape.</param>
/// <param name="Ranks">The method's ranks.</param>
/// <param name="Scale">The update's scale.</param>
public sealed record AdapterSpec(string LayerType, long[] WeightShape, int[] Ranks, double Scale)
{
    /// <summary>Relative tolerance of <see cref="Scale"/> comparisons: a scale recomputed as α/√r may differ in the last bit.</summary>
    private const double ScaleTolerance = 1e-12;

    /// <summary>LoRA's and DoRA's α; null for FLoRA and BitFit.</summary>
    public double? LoraAlpha { get; init; }

    /// <summary>Whether the LoRA/DoRA scale is <c>α/√r</c> (rsLoRA) rather than <c>α/r</c>.</summary>
    public bool UseRsLora { get; init; }

    /// <summary>AdaLoRA's target rank, the target's share of the allocation's final budget; null for other methods.</summary>
    public int? TargetRank { get; init; }

    /// <summary>Whether <paramref name="other"/>'s scale equals this one's within <see cref="ScaleTolerance"/>.</summary>
    private bool ScaleMatches(double other) =>
        Math.Abs(Scale - other) <= ScaleTolerance * Math.Max(Math.Abs(Scale), Math.Abs(other));

    /// <summary>The spec for messages, with every digit of the scale that tells two scales apart.</summary>
    internal string Describe() =>
        $"{LayerType} [{string.Join(", ", WeightShape)}] ranks ({string.Join(", ", Ranks)}) scale {Scale.ToString("R", CultureInfo.InvariantCulture)}"
        + (LoraAlpha is double alpha ? $" (α {alpha.ToString("R", CultureInfo.InvariantCulture)}{(UseRsLora ? ", rsLoRA" : "")})" : "");

    /// <inheritdoc />
    public bool Equals(AdapterSpec? other) =>
        other is not null && LayerType == other.LayerType && WeightShape.SequenceEqual(other.WeightShape)
        && Ranks.SequenceEqual(other.Ranks) && ScaleMatches(other.Scale);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(LayerType, string.Join(",", WeightShape), string.Join(",", Ranks));
}
