using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
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
        /// The specs ordered by their type key, each given the hint name <c>{key}{suffix}</c>, or <c>{key}_2{suffix}</c>,
        /// <c>_3</c>, … where an earlier one already has it (compared ignoring case, as Roslyn compares hint names).
        /// </summary>
        public static ImmutableArray<T> Assign<T>(IEnumerable<T> specs, Func<T, string> typeKey, string suffix, Func<T, string, T> withHintName)
        {
            var used = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            var named = ImmutableArray.CreateBuilder<T>();
            foreach (var spec in specs.OrderBy(typeKey, StringComparer.Ordinal))
            {
                string key = typeKey(spec), hint = key + suffix;
                for (int i = 2; !used.Add(hint); i++) hint = key + "_" + i.ToString(CultureInfo.InvariantCulture) + suffix;
                named.Add(withHintName(spec, hint));
            }
            return named.ToImmutable();
        }
    }
}
