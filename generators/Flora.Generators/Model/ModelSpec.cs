namespace Flora.Generators.Model
{
    /// <summary>Everything the emitter needs about one annotated model type: names, numbers and flags only.</summary>
    internal sealed record ModelSpec
    {
        public ModelHeader Header { get; init; } = new();
        public EquatableArray<TargetSpec> Targets { get; init; } = EquatableArray<TargetSpec>.Empty;
        public EquatableArray<SavedModuleSpec> ModulesToSave { get; init; } = EquatableArray<SavedModuleSpec>.Empty;
        /// <summary>The compile-time trainable count when every target's shape is known and every rank valid.</summary>
        public long? ConstTrainableParameters { get; init; }
        /// <summary>Whether a base model also has <c>FloraTrainableParameters</c>, which this one's then hides.</summary>
        public bool HidesBaseConst { get; init; }
        /// <summary>The generated file's name, unique ignoring case.</summary>
        public string HintName { get; init; } = "";
    }
}
