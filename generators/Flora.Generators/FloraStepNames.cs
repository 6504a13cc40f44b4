namespace Flora.Generators
{
    /// <summary>Tracking names of the generator's pipeline steps (tests assert their caching).</summary>
    public static class FloraStepNames
    {
        /// <summary>Each [FloraTarget] member parsed into its model's spec.</summary>
        public const string Targets = "Flora.Targets";
        /// <summary>The distinct model specs.</summary>
        public const string Models = "Flora.Models";
    }
}
