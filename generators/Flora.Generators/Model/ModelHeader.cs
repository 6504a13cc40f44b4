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
        /// <summary>[FloraModel]'s LoraRank and LoraAlpha (null: unset) and SaveNormLayers.</summary>
        public int? LoraRank { get; init; }
        public double? LoraAlpha { get; init; }
        public bool SaveNormLayers { get; init; }
        /// <summary>[FloraModel]'s bottleneck width of Houlsby/Pfeiffer adapters (null: unset, matched to FLoRA's budget).</summary>
        public int? AdapterSize { get; init; }
        /// <summary>[FloraModel]'s AdaLoRA target and initial ranks (null: unset).</summary>
        public int? AdaLoraTargetRank { get; init; }
        public int? AdaLoraInitRank { get; init; }
        /// <summary>
        /// Members holding annotated models (or module lists of them) whose parts join this model's attachment, in
        /// declaration order.
        /// </summary>
        public EquatableArray<string> NestedMembers { get; init; } = EquatableArray<string>.Empty;
        /// <summary>Whether a base type already has generated Flora members, which these then hide (<c>new</c>).</summary>
        public bool HidesBaseModel { get; init; }
        /// <summary>The type key of the nearest base model generated in this compilation, or empty.</summary>
        public string SourceBaseKey { get; init; } = "";
        /// <summary>The names of the count constants (<c>FloraTrainableParameters</c>, …) a base type from another assembly already has.</summary>
        public EquatableArray<string> BaseCountsInMetadata { get; init; } = EquatableArray<string>.Empty;
    }

    /// <summary>
    /// One annotated member (or the [FloraModel] type itself, with neither spec) as its own transform sees it: a target,
    /// or a module to save; both null when the member cannot be served or the entry only announces the model. The
    /// [FloraModel] type's entry carries, under <c>SaveNormLayers</c>, the norm layers of the model's tree.
    /// </summary>
    internal sealed record MemberEntry(ModelHeader Header, int Order, TargetSpec? Target, SavedModuleSpec? Saved = null, NormLayersSpec? NormLayers = null);
}
