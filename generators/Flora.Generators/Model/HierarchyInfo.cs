namespace Flora.Generators.Model
{
    /// <summary>One type declaration around (or of) the model: how to re-open it as a partial declaration.</summary>
    /// <param name="Keyword">class, struct, record, record struct or interface.</param>
    /// <param name="Name">The name with its type parameters, escaped, e.g. <c>Outer&lt;T&gt;</c>.</param>
    internal sealed record TypeDeclarationInfo(string Keyword, string Name);

    /// <summary>
    /// Where the model type lives, as names only (CommunityToolkit's HierarchyInfo): its namespace and the chain of
    /// containing types, outermost first, ending with the model itself.
    /// </summary>
    /// <param name="Namespace">The namespace as C# source (keywords escaped), or empty for the global namespace.</param>
    /// <param name="PlainName">The fully qualified name with plain identifiers and arities, e.g. <c>N.Outer`1.Model</c>.</param>
    /// <param name="Types">Containing types outermost first, then the model type.</param>
    internal sealed record HierarchyInfo(string Namespace, string PlainName, EquatableArray<TypeDeclarationInfo> Types);
}
