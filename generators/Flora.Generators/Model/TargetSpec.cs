namespace Flora.Generators.Model
{
    /// <summary>One <c>[FloraTarget]</c> member, reduced to names and numbers.</summary>
    internal sealed record TargetSpec
    {
        /// <summary>The member's name as declared (without a verbatim <c>@</c>).</summary>
        public string MemberName { get; init; } = "";
        /// <summary>The property of <c>FloraAdapters</c> for this target (PascalCase, unique).</summary>
        public string PropertyName { get; init; } = "";
        /// <summary>The layer kind, which names the FLoRA adapter type.</summary>
        public LayerKind Kind { get; init; }
        /// <summary>Whether the member can hold the adapter's wrapper (writable and typed so it accepts it).</summary>
        public bool CanStoreWrapper { get; init; }
        /// <summary>Ranks and scale set on the target; null when inherited.</summary>
        public int? Rank { get; init; }
        public int? InRank { get; init; }
        public int? OutRank { get; init; }
        public int? R3 { get; init; }
        public double? Scale { get; init; }
        /// <summary>The LoRA/DoRA rank and α set on the target; null when inherited.</summary>
        public int? LoraRank { get; init; }
        public double? LoraAlpha { get; init; }
        /// <summary>The Houlsby/Pfeiffer bottleneck width set on the target; null when inherited.</summary>
        public int? AdapterSize { get; init; }
        /// <summary>The base weight's shape when constant arguments give it; empty when unknown.</summary>
        public EquatableArray<long> WeightShape { get; init; } = EquatableArray<long>.Empty;

        /// <summary>The layer's output channels when the shape is known (a transposed convolution's are not mode 0 of its weight); 0 otherwise.</summary>
        public long OutChannels { get; init; }

        public bool ShapeKnown => WeightShape.Count > 0;
    }
}
