namespace Flora.Generators.Model
{
    /// <summary>Everything the emitter needs about one annotated model type: names, numbers and flags only.</summary>
    internal sealed record ModelSpec
    {
        public HierarchyInfo Hierarchy { get; init; } = new("", EquatableArray<TypeDeclarationInfo>.Empty, "");
        /// <summary>The model's name for messages, e.g. SmallCnn.</summary>
        public string DisplayName { get; init; } = "";
        /// <summary>Model-wide defaults from <c>[FloraModel]</c>.</summary>
        public int Rank { get; init; } = FloraRankRules.DefaultRank;
        public int R3 { get; init; } = FloraRankRules.DefaultR3;
        public double Scale { get; init; } = FloraRankRules.DefaultScale;
        public EquatableArray<TargetSpec> Targets { get; init; } = EquatableArray<TargetSpec>.Empty;
        /// <summary>The compile-time trainable count when every target's shape is known and every rank valid.</summary>
        public long? ConstTrainableParameters { get; init; }
    }
}
