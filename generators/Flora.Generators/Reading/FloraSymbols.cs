// Shared by the generator and the analyzers (linked source).
using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace Flora.Generators
{
    /// <summary>
    /// The Flora attribute types and <c>IFloraComposable</c> of one compilation, resolved once by metadata name, and the
    /// attributes found by symbol equality and read into typed values (<see cref="ModelAttributeValues"/>,
    /// <see cref="TargetAttributeValues"/>).
    /// </summary>
    internal sealed class FloraSymbols
    {
        public const string ModelAttributeName = "Flora.FloraModelAttribute";
        public const string TargetAttributeName = "Flora.FloraTargetAttribute";
        public const string ModuleToSaveAttributeName = "Flora.FloraModuleToSaveAttribute";
        /// <summary>What every generated model implements (also models compiled elsewhere, referenced as metadata).</summary>
        public const string ComposableInterfaceName = "Flora.Internal.IFloraComposable";

        private FloraSymbols(INamedTypeSymbol? model, INamedTypeSymbol? target, INamedTypeSymbol? moduleToSave, INamedTypeSymbol? composable)
        {
            ModelAttribute = model;
            TargetAttribute = target;
            ModuleToSaveAttribute = moduleToSave;
            ComposableInterface = composable;
        }

        public INamedTypeSymbol? ModelAttribute { get; }

        public INamedTypeSymbol? TargetAttribute { get; }

        public INamedTypeSymbol? ModuleToSaveAttribute { get; }

        public INamedTypeSymbol? ComposableInterface { get; }

        /// <summary>The symbols, or null when the compilation does not reference Flora.</summary>
        public static FloraSymbols? Resolve(Compilation compilation)
        {
            var model = compilation.GetTypeByMetadataName(ModelAttributeName);
            var target = compilation.GetTypeByMetadataName(TargetAttributeName);
            var moduleToSave = compilation.GetTypeByMetadataName(ModuleToSaveAttributeName);
            return model is null && target is null && moduleToSave is null
                ? null
                : new FloraSymbols(model, target, moduleToSave, compilation.GetTypeByMetadataName(ComposableInterfaceName));
        }

        public ModelAttributeValues? ModelOf(INamedTypeSymbol type) =>
            Find(type, ModelAttribute) is { } data ? ModelAttributeValues.Read(data) : null;

        public TargetAttributeValues? TargetOf(ISymbol member) =>
            Find(member, TargetAttribute) is { } data ? TargetAttributeValues.Read(data) : null;

        public AttributeData? ModuleToSaveOf(ISymbol member) => Find(member, ModuleToSaveAttribute);

        public bool IsTarget(ISymbol member) => Find(member, TargetAttribute) is not null;

        public bool IsModuleToSave(ISymbol member) => Find(member, ModuleToSaveAttribute) is not null;

        /// <summary>Whether the member has <c>[FloraTarget]</c> or <c>[FloraModuleToSave]</c>.</summary>
        public bool IsAnnotated(ISymbol member) => IsTarget(member) || IsModuleToSave(member);

        /// <summary>The members of <paramref name="type"/> marked <c>[FloraTarget]</c>, with their values, in declaration order.</summary>
        public IEnumerable<(ISymbol Member, TargetAttributeValues Attribute)> TargetsOf(INamedTypeSymbol type)
        {
            foreach (var member in type.GetMembers())
                if (!member.IsImplicitlyDeclared && TargetOf(member) is { } values) yield return (member, values);
        }

        /// <summary>The members of <paramref name="type"/> marked <c>[FloraModuleToSave]</c>, with their attribute, in declaration order.</summary>
        public IEnumerable<(ISymbol Member, AttributeData Attribute)> ModulesToSaveOf(INamedTypeSymbol type)
        {
            foreach (var member in type.GetMembers())
                if (!member.IsImplicitlyDeclared && ModuleToSaveOf(member) is { } data) yield return (member, data);
        }

        /// <summary>
        /// Whether <paramref name="type"/> is a Flora model: <c>[FloraModel]</c>, or a member with <c>[FloraTarget]</c> or
        /// <c>[FloraModuleToSave]</c>.
        /// </summary>
        public bool IsModel(INamedTypeSymbol type) => Find(type, ModelAttribute) is not null || HasAnnotatedMembers(type);

        /// <summary>Whether <paramref name="type"/> declares <c>[FloraTarget]</c> or <c>[FloraModuleToSave]</c> members.</summary>
        public bool HasAnnotatedMembers(INamedTypeSymbol type) => type.GetMembers().Any(m => !m.IsImplicitlyDeclared && IsAnnotated(m));

        /// <summary>Whether <paramref name="type"/> implements <c>IFloraComposable</c> (a model generated here or in another assembly).</summary>
        public bool ImplementsComposable(INamedTypeSymbol type) =>
            ComposableInterface is not null && type.AllInterfaces.Any(i => SymbolEqualityComparer.Default.Equals(i, ComposableInterface));

        private static AttributeData? Find(ISymbol symbol, INamedTypeSymbol? attributeClass)
        {
            if (attributeClass is null) return null;
            foreach (var attribute in symbol.GetAttributes())
                if (SymbolEqualityComparer.Default.Equals(attribute.AttributeClass, attributeClass)) return attribute;
            return null;
        }
    }
}
