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
        /// <summary>The names of the count constants (<c>FloraTrainableParameters</c>, …) that base already has, which this model's then hide (<c>new</c>).</summary>
        public EquatableArray<string> BaseCounts { get; init; } = EquatableArray<string>.Empty;
    }
}
