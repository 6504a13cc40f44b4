using System.Collections.Generic;
using System.Linq;
using Flora.Generators;
using Microsoft.CodeAnalysis;

namespace Flora.Analyzers
{
    /// <summary>The Flora attribute types of one compilation, resolved once at compilation start.</summary>
    internal sealed class FloraSymbols
    {
        private FloraSymbols(INamedTypeSymbol? model, INamedTypeSymbol? target, INamedTypeSymbol? moduleToSave)
        {
            ModelAttribute = model;
            TargetAttribute = target;
            ModuleToSaveAttribute = moduleToSave;
        }

        public INamedTypeSymbol? ModelAttribute { get; }

        public INamedTypeSymbol? TargetAttribute { get; }

        public INamedTypeSymbol? ModuleToSaveAttribute { get; }

        /// <summary>The symbols, or null when the compilation does not reference Flora.</summary>
        public static FloraSymbols? Resolve(Compilation compilation)
        {
            var model = compilation.GetTypeByMetadataName(TorchSymbols.ModelAttribute);
            var target = compilation.GetTypeByMetadataName(TorchSymbols.TargetAttribute);
            var moduleToSave = compilation.GetTypeByMetadataName(TorchSymbols.ModuleToSaveAttribute);
            return model is null && target is null && moduleToSave is null ? null : new FloraSymbols(model, target, moduleToSave);
        }

        public AttributeData? ModelOf(INamedTypeSymbol type) =>
            type.GetAttributes().FirstOrDefault(a => SymbolEqualityComparer.Default.Equals(a.AttributeClass, ModelAttribute));

        public AttributeData? TargetOf(ISymbol member) =>
            member.GetAttributes().FirstOrDefault(a => SymbolEqualityComparer.Default.Equals(a.AttributeClass, TargetAttribute));

        public AttributeData? ModuleToSaveOf(ISymbol member) =>
            member.GetAttributes().FirstOrDefault(a => SymbolEqualityComparer.Default.Equals(a.AttributeClass, ModuleToSaveAttribute));

        /// <summary>The members of <paramref name="type"/> marked <c>[FloraTarget]</c>, with their attribute.</summary>
        public IEnumerable<(ISymbol Member, AttributeData Attribute)> TargetsOf(INamedTypeSymbol type) => Marked(type, TargetAttribute);

        /// <summary>The members of <paramref name="type"/> marked <c>[FloraModuleToSave]</c>, with their attribute.</summary>
        public IEnumerable<(ISymbol Member, AttributeData Attribute)> ModulesToSaveOf(INamedTypeSymbol type) => Marked(type, ModuleToSaveAttribute);

        /// <summary>
        /// Whether <paramref name="type"/> is a Flora model: <c>[FloraModel]</c>, or a member with <c>[FloraTarget]</c> or
        /// <c>[FloraModuleToSave]</c>.
        /// </summary>
        public bool IsModel(INamedTypeSymbol type) => ModelOf(type) is not null || TargetsOf(type).Any() || ModulesToSaveOf(type).Any();

        private static IEnumerable<(ISymbol Member, AttributeData Attribute)> Marked(INamedTypeSymbol type, INamedTypeSymbol? attributeClass)
        {
            if (attributeClass is null) yield break;
            foreach (var member in type.GetMembers())
            {
                if (member.IsImplicitlyDeclared) continue;
                var attribute = member.GetAttributes().FirstOrDefault(a => SymbolEqualityComparer.Default.Equals(a.AttributeClass, attributeClass));
                if (attribute is not null) yield return (member, attribute);
            }
        }
    }
}
