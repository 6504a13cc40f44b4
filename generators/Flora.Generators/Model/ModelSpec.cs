namespace Flora.Generators.Model
{
    /// <summary>Everything the emitter needs about one annotated model type: names, numbers and flags only.</summary>
    internal sealed record ModelSpec
    {
        public ModelHeader Header { get; init; } = new();
        public EquatableArray<TargetSpec> Targets { get; init; } = EquatableArray<TargetSpec>.Empty;
        public EquatableArray<SavedModuleSpec> ModulesToSave { get; init; } = EquatableArray<SavedModuleSpec>.Empty;
        /// <summary>
        /// The compile-time trainable counts, FLoRA's first, when every target's shape is known and every rank valid
        /// (<see cref="CountConstants"/>); empty when any is unknown.
        /// </summary>
        public EquatableArray<CountConstantSpec> Counts { get; init; } = EquatableArray<CountConstantSpec>.Empty;
        /// <summary>The generated file's name, unique ignoring case.</summary>
        public string HintName { get; init; } = "";
    }
}
