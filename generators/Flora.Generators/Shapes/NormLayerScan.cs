// Shared by the generator and the analyzers (linked source): the norm layers [FloraModel(SaveNormLayers = true)] adds to
// a model's modules to save, as far as the model's own source shows them. Never throws on malformed code.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Flora.Generators
{
    /// <summary>What keeps a model's trainable count from being known at compile time.</summary>
    internal enum CountBlockerKind
    {
        /// <summary>A norm layer whose trainable size is not constant (non-literal arguments, or no single creation).</summary>
        NormLayerSize,

        /// <summary>A module whose tree the generator cannot see (a Sequential, a module of the user's own).</summary>
        HiddenModules,

        /// <summary>A target whose weight shape is not constant.</summary>
        TargetShape,

        /// <summary>A module to save whose size is not constant.</summary>
        ModuleSize,

        /// <summary>A nested model the compilation does not pin down (a module list of them, one from another assembly, one not created with new).</summary>
        NestedModel,
    }

    /// <summary>One member (or base type, or call) that keeps the trainable count from being constant, and why.</summary>
    internal sealed class CountBlocker
    {
        public CountBlocker(CountBlockerKind kind, string reason, Location location)
        {
            Kind = kind;
            Reason = reason;
            Location = location;
        }

        public CountBlockerKind Kind { get; }

        /// <summary>A clause that names the member, e.g. <c>'body' is a Sequential, whose modules the generator cannot see</c>.</summary>
        public string Reason { get; }

        public Location Location { get; }
    }

    /// <summary>The norm layers a model's source shows, with their trainable parameters, and what hides the others.</summary>
    internal sealed class NormLayerCount
    {
        public NormLayerCount(IReadOnlyList<(string Member, long Parameters)> layers, IReadOnlyList<CountBlocker> blockers)
        {
            Layers = layers;
            Blockers = blockers;
        }

        /// <summary>The norm layers held by the model's own fields (auto-properties included), each with its count.</summary>
        public IReadOnlyList<(string Member, long Parameters)> Layers { get; }

        public IReadOnlyList<CountBlocker> Blockers { get; }
    }

    /// <summary>
    /// Reads what <c>SaveNormLayers</c> adds at run time. The runtime walks the model's registered modules and saves every
    /// <c>BatchNorm1d/2d/3d</c>, <c>LayerNorm</c>, <c>GroupNorm</c> and <c>InstanceNorm1d/2d/3d</c> anywhere in the tree
    /// (<c>ModulesToSaveSelection</c>); <c>RegisterComponents()</c> registers the model's instance fields (auto-properties'
    /// backing fields included). So the count is known at compile time when every such field is a target, a module to
    /// save or a nested model (counted on their own, by <see cref="TrainableCounter"/>), a norm layer whose size constant arguments give (<see cref="LayerShapeReader.SavedModuleParameters"/>),
    /// or a TorchSharp layer that holds no modules (Linear, convolutions, activations, pooling, dropout, …); when the model
    /// derives directly from TorchSharp's <c>Module</c>; and when it registers nothing by name (<c>register_module</c>).
    /// Anything else (a <c>Sequential</c>, a <c>ModuleList</c>, a module of the user's own) is a
    /// <see cref="CountBlocker"/>.
    /// </summary>
    internal static class NormLayerScan
    {
        /// <summary>TorchSharp layers with parameters that register no child modules (checked against TorchSharp by a test).</summary>
        private static readonly HashSet<string> LeafLayers = new()
        {
            "Linear", "Bilinear", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
            "Embedding", "EmbeddingBag", "PReLU",
        };

        /// <param name="model">The model type whose own fields are read.</param>
        /// <param name="compilation">The compilation holding it.</param>
        /// <param name="countedElsewhere">Members the caller counts on their own: targets, modules to save, nested models.</param>
        /// <param name="cancellationToken">Cancels the reading.</param>
        public static NormLayerCount Count(INamedTypeSymbol model, Compilation compilation, Func<ISymbol, bool> countedElsewhere, CancellationToken cancellationToken)
        {
            var layers = new List<(string, long)>();
            var blockers = new List<CountBlocker>();
            var modelLocation = model.Locations.Length > 0 ? model.Locations[0] : Location.None;
            if (model.BaseType is { } baseType && baseType.TypeKind != TypeKind.Error && !TorchSymbols.IsTorchModuleClass(baseType))
                blockers.Add(new CountBlocker(CountBlockerKind.HiddenModules,
                    $"'{model.Name}' derives from '{baseType.Name}', whose modules the generator does not read", modelLocation));

            foreach (var declaration in model.DeclaringSyntaxReferences.Select(r => r.GetSyntax(cancellationToken)).OfType<TypeDeclarationSyntax>())
            {
                // Calls in the model's own body (nested types register into their own instances).
                foreach (var call in declaration.DescendantNodes(node => node == declaration || node is not TypeDeclarationSyntax).OfType<InvocationExpressionSyntax>())
                {
                    string? name = call.Expression switch
                    {
                        IdentifierNameSyntax identifier => identifier.Identifier.ValueText,
                        MemberAccessExpressionSyntax access => access.Name.Identifier.ValueText,
                        _ => null,
                    };
                    if (name == "register_module")
                        blockers.Add(new CountBlocker(CountBlockerKind.HiddenModules,
                            $"'{model.Name}' registers a module with register_module(...), which the generator cannot see", call.GetLocation()));
                }
            }

            foreach (var symbol in model.GetMembers())
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (symbol is not IFieldSymbol { IsStatic: false, IsConst: false } field) continue;
                // An auto-property's backing field is registered too: read it as its property (name, attributes, initializer).
                ISymbol member = field.IsImplicitlyDeclared ? field.AssociatedSymbol as IPropertySymbol ?? (ISymbol)field : field;
                if (member.IsImplicitlyDeclared) continue;
                if (countedElsewhere(member)) continue; // a target, a module to save or a nested model
                if (!TorchSymbols.IsTorchModule(field.Type)) continue; // not a module: RegisterComponents adds no child
                var location = member.Locations.Length > 0 ? member.Locations[0] : modelLocation;

                var type = LayerTypeOf(member, field.Type, compilation, cancellationToken);
                if (type is null)
                {
                    blockers.Add(new CountBlocker(CountBlockerKind.HiddenModules, HiddenReason(member, field.Type), location));
                }
                else if (LayerShapeReader.IsNormLayer(type))
                {
                    if (LayerShapeReader.SavedModuleParameters(member, compilation, cancellationToken) is long parameters)
                        layers.Add((member.Name, parameters));
                    else
                        blockers.Add(new CountBlocker(CountBlockerKind.NormLayerSize,
                            $"'{member.Name}' is a {type.Name} whose size is not a compile-time constant", location));
                }
                else if (!IsLeaf(type))
                {
                    blockers.Add(new CountBlocker(CountBlockerKind.HiddenModules,
                        $"'{member.Name}' is a {type.Name}, whose modules the generator cannot see", location));
                }
            }
            return new NormLayerCount(layers, blockers);
        }

        /// <summary>
        /// The TorchSharp layer type the member holds: its declared type when that is one of TorchSharp's sealed layer
        /// types, else the type of the <c>torch.nn</c> factory call that creates it; null when neither says.
        /// </summary>
        public static INamedTypeSymbol? LayerTypeOf(ISymbol member, ITypeSymbol declared, Compilation compilation, CancellationToken cancellationToken)
        {
            if (declared is INamedTypeSymbol { IsSealed: true } sealedType && IsTorchSharpLayer(sealedType)) return sealedType;
            return LayerShapeReader.CreatedType(member, compilation, cancellationToken) is INamedTypeSymbol { IsSealed: true } created && IsTorchSharpLayer(created)
                ? created
                : null;
        }

        private static string HiddenReason(ISymbol member, ITypeSymbol declared) =>
            $"'{member.Name}' is a {declared.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat)}, whose modules the generator cannot see";

        private static bool IsTorchSharpLayer(INamedTypeSymbol type) => type.ContainingNamespace?.ToDisplayString() == "TorchSharp.Modules";

        /// <summary>A TorchSharp layer that registers no child modules: a norm layer, one of <see cref="LeafLayers"/>, or any <c>ParameterLessModule</c>.</summary>
        internal static bool IsLeaf(INamedTypeSymbol type)
        {
            if (!IsTorchSharpLayer(type)) return false;
            if (LayerShapeReader.IsNormLayer(type) || LeafLayers.Contains(type.Name)) return true;
            for (var t = type.BaseType; t is not null; t = t.BaseType)
                if (t.Name == "ParameterLessModule" && IsTorchSharpLayer(t)) return true;
            return false;
        }

    }
}
