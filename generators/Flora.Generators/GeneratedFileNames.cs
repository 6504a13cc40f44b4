using System;
using System.Collections.Generic;
using System.Globalization;
using Microsoft.CodeAnalysis;

namespace Flora.Generators
{
    /// <summary>
    /// How a model's generated files are keyed and named, shared by the model files (<c>.Flora.g.cs</c>) and the
    /// interceptor files (<c>.Flora.Interceptors.g.cs</c>): one key per type, one unique hint name per key.
    /// </summary>
    internal static class GeneratedFileNames
    {
        /// <summary><c>N.Outer`1.Model</c>: namespace and containing types with arities, plain identifiers.</summary>
        public static string TypeKey(INamedTypeSymbol type)
        {
            var parts = new List<string>();
            for (INamedTypeSymbol? t = type; t is not null; t = t.ContainingType)
                parts.Insert(0, t.Name + (t.Arity == 0 ? "" : "`" + t.Arity.ToString(CultureInfo.InvariantCulture)));
            for (var ns = type.ContainingNamespace; ns is { IsGlobalNamespace: false }; ns = ns.ContainingNamespace) parts.Insert(0, ns.Name);
            return string.Join(".", parts);
        }

        /// <summary>
        /// <c>{key}{suffix}</c>, or <c>{key}_2{suffix}</c>, <c>_3</c>, … when <paramref name="used"/> (compared ignoring
        /// case, as Roslyn compares hint names) already holds it; the name returned is added to <paramref name="used"/>.
        /// </summary>
        public static string UniqueHintName(HashSet<string> used, string key, string suffix)
        {
            string hint = key + suffix;
            for (int i = 2; !used.Add(hint); i++) hint = key + "_" + i.ToString(CultureInfo.InvariantCulture) + suffix;
            return hint;
        }

        /// <summary>A set of hint names compared as Roslyn compares them (ignoring case).</summary>
        public static HashSet<string> NewHintNameSet() => new(StringComparer.OrdinalIgnoreCase);
    }
}
