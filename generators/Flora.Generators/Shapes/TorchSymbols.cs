// Shared by the generator and the analyzers (linked source): recognising TorchSharp's and Flora's symbols by name.
using Microsoft.CodeAnalysis;

namespace Flora.Generators
{
    internal static class TorchSymbols
    {
        public const string TargetAttribute = "Flora.FloraTargetAttribute";
        public const string ModelAttribute = "Flora.FloraModelAttribute";
        public const string ModuleToSaveAttribute = "Flora.FloraModuleToSaveAttribute";
        /// <summary>What every generated model implements (also models compiled elsewhere, referenced as metadata).</summary>
        public const string ComposableInterface = "Flora.Internal.IFloraComposable";

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

        /// <summary>The attribute of class <paramref name="attributeName"/> on <paramref name="symbol"/>, or null.</summary>
        public static AttributeData? Attribute(ISymbol symbol, string attributeName)
        {
            foreach (var attribute in symbol.GetAttributes())
                if (attribute.AttributeClass?.ToDisplayString() == attributeName) return attribute;
            return null;
        }

        /// <summary>
        /// The model-wide Rank, R3 and Scale of a <c>[FloraModel]</c> attribute (null: no attribute), each falling back to
        /// the library's default — what every target inherits.
        /// </summary>
        public static (int Rank, int R3, double Scale) ModelDefaults(AttributeData? model) => (
            NamedInt(model, "Rank") ?? FloraRankRules.DefaultRank,
            NamedInt(model, "R3") ?? FloraRankRules.DefaultR3,
            NamedDouble(model, "Scale") ?? FloraRankRules.DefaultScale);

        /// <summary>A named int argument of an attribute, or null when not set.</summary>
        public static int? NamedInt(AttributeData? attribute, string name)
        {
            if (attribute is null) return null;
            foreach (var argument in attribute.NamedArguments)
                if (argument.Key == name && argument.Value.Value is int value) return value;
            return null;
        }

        /// <summary>A named bool argument of an attribute, or null when not set.</summary>
        public static bool? NamedBool(AttributeData? attribute, string name)
        {
            if (attribute is null) return null;
            foreach (var argument in attribute.NamedArguments)
                if (argument.Key == name && argument.Value.Value is bool value) return value;
            return null;
        }

        /// <summary>A named long argument of an attribute, or null when not set.</summary>
        public static long? NamedLong(AttributeData? attribute, string name)
        {
            if (attribute is null) return null;
            foreach (var argument in attribute.NamedArguments)
                if (argument.Key == name) return argument.Value.Value switch { long l => l, int i => i, _ => null };
            return null;
        }

        /// <summary>A named double argument of an attribute, or null when not set.</summary>
        public static double? NamedDouble(AttributeData? attribute, string name)
        {
            if (attribute is null) return null;
            foreach (var argument in attribute.NamedArguments)
            {
                if (argument.Key != name) continue;
                return argument.Value.Value switch
                {
                    double d => d,
                    float f => f,
                    int i => i,
                    long l => l,
                    _ => null,
                };
            }
            return null;
        }
    }
}
