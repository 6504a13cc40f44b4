namespace Flora.Generators.Model
{
    /// <summary>What every target of one model knows about the model: where it lives and its [FloraModel] settings.</summary>
    internal sealed record ModelHeader
    {
        /// <summary>Identifies the model type across targets (its fully qualified metadata name).</summary>
        public string TypeKey { get; init; } = "";
        public HierarchyInfo Hierarchy { get; init; } = new("", "", EquatableArray<TypeDeclarationInfo>.Empty);
        /// <summary>The model's name for messages, e.g. SmallCnn.</summary>
        public string DisplayName { get; init; } = "";
        public int Rank { get; init; } = FloraRankRules.DefaultRank;
        public int R3 { get; init; } = FloraRankRules.DefaultR3;
        public double Scale { get; init; } = FloraRankRules.DefaultScale;
        /// <summary>Whether a base type already has generated Flora members, which these then hide (<c>new</c>).</summary>
        public bool HidesBaseModel { get; init; }
        /// <summary>The type key of the nearest base model generated in this compilation, or empty.</summary>
        public string SourceBaseKey { get; init; } = "";
        /// <summary>Whether a base type from another assembly already has <c>FloraTrainableParameters</c>.</summary>
        public bool BaseHasConstInMetadata { get; init; }
    }

    /// <summary>One [FloraTarget] member as its own transform sees it; <see cref="Target"/> is null when it cannot be adapted.</summary>
    internal sealed record TargetEntry(ModelHeader Header, int Order, TargetSpec? Target);
}
