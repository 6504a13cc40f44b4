using System.Collections.Generic;
using System.Linq;
using Flora.Generators;
using Microsoft.CodeAnalysis;

namespace Flora.Analyzers
{
    /// <summary>The Flora attribute types of one compilation, resolved once at compilation start.</summary>
    internal sealed class FloraSymbols
    {
        private FloraSymbols(INamedTypeSymbol? model, INamedTypeSymbol? target)
        {
            ModelAttribute = model;
            TargetAttribute = target;
        }

        public INamedTypeSymbol? ModelAttribute { get; }

        public INamedTypeSymbol? TargetAttribute { get; }

        /// <summary>The symbols, or null when the compilation does not reference Flora.</summary>
        public static FloraSymbols? Resolve(Compilation compilation)
        {
            var model = compilation.GetTypeByMetadataName(TorchSymbols.ModelAttribute);
            var target = compilation.GetTypeByMetadataName(TorchSymbols.TargetAttribute);
            return model is null && target is null ? null : new FloraSymbols(model, target);
        }

        public AttributeData? ModelOf(INamedTypeSymbol type) =>
            type.GetAttributes().FirstOrDefault(a => SymbolEqualityComparer.Default.Equals(a.AttributeClass, ModelAttribute));

        public AttributeData? TargetOf(ISymbol member) =>
            member.GetAttributes().FirstOrDefault(a => SymbolEqualityComparer.Default.Equals(a.AttributeClass, TargetAttribute));

        /// <summary>The members of <paramref name="type"/> marked <c>[FloraTarget]</c>, with their attribute.</summary>
        public IEnumerable<(ISymbol Member, AttributeData Attribute)> TargetsOf(INamedTypeSymbol type)
        {
            foreach (var member in type.GetMembers())
            {
                if (member.IsImplicitlyDeclared) continue;
                var attribute = TargetOf(member);
                if (attribute is not null) yield return (member, attribute);
            }
        }

        /// <summary>Whether <paramref name="type"/> is a Flora model: <c>[FloraModel]</c> or a member with <c>[FloraTarget]</c>.</summary>
        public bool IsModel(INamedTypeSymbol type) => ModelOf(type) is not null || TargetsOf(type).Any();
    }
}
