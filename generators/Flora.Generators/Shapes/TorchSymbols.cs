// Shared by the generator and the analyzers (linked source): recognising TorchSharp's module types (Flora's own: FloraSymbols).
using Microsoft.CodeAnalysis;

namespace Flora.Generators
{
    internal static class TorchSymbols
    {
        /// <summary>Whether <paramref name="type"/> derives from <c>TorchSharp.torch.nn.Module</c> (any of its generic forms).</summary>
        public static bool DerivesFromTorchModule(INamedTypeSymbol type)
        {
            for (var t = type.BaseType; t is not null && t.TypeKind != TypeKind.Error; t = t.BaseType)
            {
                if (IsTorchModuleClass(t)) return true;
            }
            return false;
        }

        /// <summary>
        /// Whether a member of <paramref name="type"/> holds a TorchSharp module: <c>torch.nn.Module</c> itself (any generic
        /// form), a type derived from it, or a type parameter constrained to one.
        /// </summary>
        public static bool IsTorchModule(ITypeSymbol? type)
        {
            if (type is ITypeParameterSymbol parameter)
            {
                foreach (var constraint in parameter.ConstraintTypes)
                    if (IsTorchModule(constraint)) return true;
                return false;
            }
            return type is INamedTypeSymbol named && (IsTorchModuleClass(named) || DerivesFromTorchModule(named));
        }

        /// <summary>TorchSharp's <c>torch.nn.Module</c> itself, any of its generic forms (not a type derived from it).</summary>
        public static bool IsTorchModuleClass(INamedTypeSymbol type) =>
            type.Name == "Module" && type.ContainingType is { Name: "nn", ContainingType: { Name: "torch", ContainingNamespace.Name: "TorchSharp" } };
    }
}
