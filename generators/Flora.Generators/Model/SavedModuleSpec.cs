namespace Flora.Generators.Model
{
    /// <summary>One <c>[FloraModuleToSave]</c> member, reduced to names and numbers.</summary>
    internal sealed record SavedModuleSpec
    {
        /// <summary>The member's name as declared (without a verbatim <c>@</c>).</summary>
        public string MemberName { get; init; } = "";
        /// <summary>Its trainable parameter count when constant constructor arguments give it; null when unknown.</summary>
        public long? Parameters { get; init; }
    }
}
