namespace Flora.Generators
{
    /// <summary>Tracking names of the generator's pipeline steps (tests assert their caching).</summary>
    public static class FloraStepNames
    {
        /// <summary>Each [FloraTarget] member parsed into its model's spec.</summary>
        public const string Targets = "Flora.Targets";
        /// <summary>Each [FloraModuleToSave] member parsed into its model's spec.</summary>
        public const string ModulesToSave = "Flora.ModulesToSave";
        /// <summary>Each [FloraModel] type, so that a model with only nested models or modules to save is served too.</summary>
        public const string ModelTypes = "Flora.ModelTypes";
        /// <summary>The distinct model specs.</summary>
        public const string Models = "Flora.Models";
    }
}
