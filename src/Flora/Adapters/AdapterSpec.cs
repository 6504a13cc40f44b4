using System.Linq;

namespace Flora;

/// <summary>
/// What identifies an adapter's shape in adapter files and reports: the base layer's type and weight shape, the
/// method's ranks (FLoRA: one per mode; LoRA/DoRA: one) and its scale.
/// </summary>
/// <param name="LayerType">The base layer's type name, e.g. <c>Conv2d</c>.</param>
/// <param name="WeightShape">The base weight's shape.</param>
/// <param name="Ranks">The method's ranks.</param>
/// <param name="Scale">The update's scale.</param>
public sealed record AdapterSpec(string LayerType, long[] WeightShape, int[] Ranks, double Scale)
{
    /// <inheritdoc />
    public bool Equals(AdapterSpec? other) =>
        other is not null && LayerType == other.LayerType && WeightShape.SequenceEqual(other.WeightShape)
        && Ranks.SequenceEqual(other.Ranks) && Scale.Equals(other.Scale);

    /// <inheritdoc />
    public override int GetHashCode() => System.HashCode.Combine(LayerType, string.Join(",", WeightShape), string.Join(",", Ranks), Scale);
}
