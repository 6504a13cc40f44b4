namespace Flora.Generators.Model
{
    /// <summary>One type declaration around (or of) the model: how to re-open it as a partial declaration.</summary>
    /// <param name="Keyword">class, struct, record, record struct or interface.</param>
    /// <param name="Name">The name with its type parameters, e.g. <c>Outer&lt;T&gt;</c>.</param>
    internal sealed record TypeDeclarationInfo(string Keyword, string Name);

    /// <summary>
    /// Where the model type lives, as names only (CommunityToolkit's HierarchyInfo): its namespace and the chain of
    /// containing types, outermost first, ending with the model itself.
    /// </summary>
    /// <param name="Namespace">The namespace, or empty for the global namespace.</param>
    /// <param name="Types">Containing types outermost first, then the model type.</param>
    /// <param name="HintName">A file name unique to the model, e.g. <c>N.Outer.Model`1.Flora.g.cs</c>.</param>
    internal sealed record HierarchyInfo(string Namespace, EquatableArray<TypeDeclarationInfo> Types, string HintName);
}
