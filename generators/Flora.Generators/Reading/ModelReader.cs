// Shared by the generator and the analyzers (linked source): the one reading of a model type.
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Flora.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Flora.Generators
{
    /// <summary>
    /// Turns a model type into its <see cref="ModelDescription"/>: targets with their shapes and settings, modules to save,
    /// nested models (read in turn), and the compile-time trainable counts. The generator reads each model type with a
    /// reader of its own; the analyzers share one reader per compilation, which keeps what it has read.
    /// </summary>
    internal sealed class ModelReader
    {
        /// <summary>Names FloraAdapters already uses or inherits from object.</summary>
        private static readonly HashSet<string> ReservedPropertyNames = new()
        {
            "All", "Attachment", "TrainableParameters", "Method", "ToString", "Equals", "GetHashCode", "GetType",
            "ReferenceEquals", "MemberwiseClone", "Finalize", "FloraAdapters",
        };

        private readonly ConcurrentDictionary<INamedTypeSymbol, ModelDescription> _read = new(SymbolEqualityComparer.Default);

        public ModelReader(FloraSymbols symbols, Compilation compilation)
        {
            Symbols = symbols;
            Compilation = compilation;
        }

        public FloraSymbols Symbols { get; }

        public Compilation Compilation { get; }

        /// <summary>The description of <paramref name="type"/>, read once per reader.</summary>
        public ModelDescription Read(INamedTypeSymbol type, CancellationToken cancellationToken) =>
            Read(type, new HashSet<INamedTypeSymbol>(SymbolEqualityComparer.Default), cancellationToken);

        private ModelDescription Read(INamedTypeSymbol type, HashSet<INamedTypeSymbol> reading, CancellationToken cancellationToken)
        {
            if (_read.TryGetValue(type, out var known)) return known;
            reading.Add(type);
            var attribute = Symbols.ModelOf(type);
            bool canGenerate = CanGenerateFor(type, cancellationToken);
            var targets = Symbols.TargetsOf(type).Select(t => new TargetPart(t.Member, t.Attribute, ReadTarget(t.Member, t.Attribute, cancellationToken))).ToList();
            targets = AssignPropertyNames(targets);
            var saved = Symbols.ModulesToSaveOf(type).Select(m => new SavedModulePart(m.Member, ReadModuleToSave(m.Member, cancellationToken))).ToList();
            var nested = NestedMembers(type, cancellationToken).Select(m => ReadNested(m, reading, cancellationToken)).ToList();
            var header = Header(type, attribute, canGenerate, nested, reading, cancellationToken);
            var description = new ModelDescription(type, attribute, canGenerate, header, targets, saved, nested,
                model => TrainableCounter.Count(model, this, cancellationToken));
            reading.Remove(type);
            return _read.GetOrAdd(type, description);
        }

        /// <summary>
        /// A class deriving from TorchSharp's Module, declared partial together with every containing type, not
        /// file-local, and not named like the nested class the generator adds. Anything else gets no source (the
        /// analyzers report FLORA001 and FLORA009).
        /// </summary>
        public static bool CanGenerateFor(INamedTypeSymbol type, CancellationToken cancellationToken)
        {
            if (type.TypeKind != TypeKind.Class || type.IsStatic || type.Name == "FloraAdapters" || !TorchSymbols.DerivesFromTorchModule(type)) return false;
            for (INamedTypeSymbol? t = type; t is not null; t = t.ContainingType)
            {
                if (t.IsFileLocal) return false;
                var declarations = t.DeclaringSyntaxReferences.Select(r => r.GetSyntax(cancellationToken)).OfType<TypeDeclarationSyntax>().ToList();
                if (declarations.Count == 0 || declarations.Any(d => !d.Modifiers.Any(SyntaxKind.PartialKeyword))) return false;
            }
            return true;
        }

        /// <summary>The target's spec, or null when the generator does not serve it (a member or layer FLORA006 reports).</summary>
        private TargetSpec? ReadTarget(ISymbol member, TargetAttributeValues attribute, CancellationToken cancellationToken)
        {
            if (LayerShapeReader.MemberProblem(member, Compilation) is not null) return null;
            LayerShape shape = LayerShapeReader.Read(member, Compilation, cancellationToken);
            if (shape.Kind == LayerKind.Unsupported) return null;
            return new TargetSpec
            {
                MemberName = member.Name,
                Kind = shape.Kind,
                CanStoreWrapper = LayerShapeReader.MemberType(member) is { } memberType && !ForwardCalls.IsHookBound(member, memberType, Compilation, cancellationToken),
                Rank = attribute.Rank,
                InRank = attribute.InRank,
                OutRank = attribute.OutRank,
                R3 = attribute.R3,
                Scale = attribute.Scale,
                LoraRank = Unset(attribute.LoraRank),
                LoraAlpha = Unset(attribute.LoraAlpha),
                AdapterSize = Unset(attribute.AdapterSize),
                WeightShape = shape.WeightShape is null ? EquatableArray<long>.Empty : new EquatableArray<long>(shape.WeightShape),
                OutChannels = shape.OutChannels,
            };
        }

        /// <summary>
        /// The module to save's spec, or null when it cannot be one: a member that is also a target, static, or not a
        /// TorchSharp module (FLORA011 says why).
        /// </summary>
        private SavedModuleSpec? ReadModuleToSave(ISymbol member, CancellationToken cancellationToken)
        {
            bool servable = !member.IsStatic && member is IFieldSymbol or IPropertySymbol { IsIndexer: false, GetMethod: not null }
                            && !Symbols.IsTarget(member) && TorchSymbols.IsTorchModule(LayerShapeReader.MemberType(member));
            return servable
                ? new SavedModuleSpec { MemberName = member.Name, Parameters = LayerShapeReader.SavedModuleParameters(member, Compilation, cancellationToken) }
                : null;
        }

        /// <summary>
        /// Instance fields and properties (without Flora attributes) holding an annotated model, or a module list of them:
        /// their targets and modules to save join this model's attachment under the member's path.
        /// </summary>
        private IEnumerable<ISymbol> NestedMembers(INamedTypeSymbol type, CancellationToken cancellationToken)
        {
            foreach (var member in type.GetMembers())
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (member.IsStatic || member.IsImplicitlyDeclared) continue;
                if (member is not (IFieldSymbol { IsConst: false } or IPropertySymbol { IsIndexer: false, GetMethod: not null })) continue;
                if (Symbols.IsAnnotated(member)) continue;
                if (LayerShapeReader.MemberType(member) is not INamedTypeSymbol memberType) continue;
                if (IsComposable(memberType, cancellationToken) || IsModuleListOfComposable(memberType, cancellationToken)) yield return member;
            }
        }

        /// <summary>
        /// The nested model the member's single <c>new T(…)</c> creates, read with this reader; unknown for a module list
        /// (how many models it holds is a run-time matter), a model from another assembly, a member created otherwise, and
        /// a model that contains the one being read.
        /// </summary>
        private NestedModelPart ReadNested(ISymbol member, HashSet<INamedTypeSymbol> reading, CancellationToken cancellationToken)
        {
            var declared = (INamedTypeSymbol)LayerShapeReader.MemberType(member)!;
            string shown = declared.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat);
            if (IsModuleListOfComposable(declared, cancellationToken))
                return new NestedModelPart(member, null, $"'{member.Name}' holds nested Flora models ({shown}), whose trainable parameters the generator does not add up");
            string unknown = $"'{member.Name}' holds the nested Flora model {shown}, whose trainable parameters the generator does not add up";
            if (LayerShapeReader.CreatedObjectType(member, Compilation, cancellationToken) is not { } created
                || created.DeclaringSyntaxReferences.Length == 0 || !CanGenerateFor(created, cancellationToken))
                return new NestedModelPart(member, null, unknown + " (it is not created once, with new, as a model of this compilation)");
            if (reading.Contains(created))
                return new NestedModelPart(member, null, unknown + " (it contains the model being counted)");
            return new NestedModelPart(member, Read(created, reading, cancellationToken), null);
        }

        /// <summary>A model type the generator extends (in source, with Flora attributes) or that implements <c>IFloraComposable</c>.</summary>
        private bool IsComposable(INamedTypeSymbol type, CancellationToken cancellationToken)
        {
            if (Symbols.ImplementsComposable(type)) return true;
            if (type.DeclaringSyntaxReferences.Length == 0 || !CanGenerateFor(type, cancellationToken)) return false;
            return Symbols.IsModel(type);
        }

        private bool IsModuleListOfComposable(INamedTypeSymbol type, CancellationToken cancellationToken) =>
            type is { Name: "ModuleList", Arity: 1 } && type.ContainingNamespace.ToDisplayString() == "TorchSharp.Modules"
            && type.TypeArguments[0] is INamedTypeSymbol item && IsComposable(item, cancellationToken);

        private ModelHeader Header(INamedTypeSymbol type, ModelAttributeValues? model, bool canGenerate, IReadOnlyList<NestedModelPart> nested,
            HashSet<INamedTypeSymbol> reading, CancellationToken cancellationToken)
        {
            string typeKey = GeneratedFileNames.TypeKey(type);
            var hierarchy = canGenerate ? Hierarchy(type, typeKey, cancellationToken) : null;
            var (hides, baseCounts) = GeneratedBase(type, reading, cancellationToken);
            return new ModelHeader
            {
                HidesBaseModel = hides,
                BaseCounts = baseCounts,
                TypeKey = typeKey,
                Hierarchy = hierarchy ?? new HierarchyInfo("", typeKey, EquatableArray<TypeDeclarationInfo>.Empty),
                DisplayName = type.Name,
                Rank = ModelAttributeValues.EffectiveRank(model),
                R3 = ModelAttributeValues.EffectiveR3(model),
                Scale = ModelAttributeValues.EffectiveScale(model),
                LoraRank = Unset(model?.LoraRank),
                LoraAlpha = Unset(model?.LoraAlpha),
                SaveNormLayers = model?.SaveNormLayers ?? false,
                AdapterSize = Unset(model?.AdapterSize),
                AdaLoraTargetRank = Unset(model?.AdaLoraTargetRank),
                AdaLoraInitRank = Unset(model?.AdaLoraInitRank),
                NestedMembers = new EquatableArray<string>(nested.Select(n => n.Member.Name)),
            };
        }

        /// <summary>An attribute's int or double left at 0 means unset.</summary>
        private static int? Unset(int? value) => value == 0 ? null : value;

        private static double? Unset(double? value) => value == 0 ? null : value;

        /// <summary>
        /// Whether a base type has the generated members: from metadata (another assembly's generated code is there), or
        /// in source when the generator will extend it (the current compilation does not hold our output yet); and which
        /// count constants that base has (read from metadata, or from the source base's own description).
        /// </summary>
        private (bool Hides, EquatableArray<string> BaseCounts) GeneratedBase(INamedTypeSymbol type, HashSet<INamedTypeSymbol> reading, CancellationToken cancellationToken)
        {
            for (var t = type.BaseType; t is not null && t.TypeKind != TypeKind.Error; t = t.BaseType)
            {
                if (!t.GetMembers("AttachFlora").IsEmpty)
                    return (true, new EquatableArray<string>(CountConstants.Kinds.Select(CountConstants.Name).Where(name => !t.GetMembers(name).IsEmpty)));
                if (t.DeclaringSyntaxReferences.Length > 0 && CanGenerateFor(t, cancellationToken) && Symbols.HasAnnotatedMembers(t))
                {
                    var counts = reading.Contains(t) ? Enumerable.Empty<(CountKind Kind, long Value)>() : Read(t, reading, cancellationToken).Count.Constants;
                    return (true, new EquatableArray<string>(counts.Select(c => CountConstants.Name(c.Kind))));
                }
            }
            return (false, EquatableArray<string>.Empty);
        }

        /// <summary>The namespace and declarations to re-open, or null when a type of the chain has no declaration in source.</summary>
        private static HierarchyInfo? Hierarchy(INamedTypeSymbol type, string typeKey, CancellationToken cancellationToken)
        {
            var chain = new List<TypeDeclarationInfo>();
            for (INamedTypeSymbol? t = type; t is not null; t = t.ContainingType)
            {
                var declaration = t.DeclaringSyntaxReferences.Select(r => r.GetSyntax(cancellationToken)).OfType<TypeDeclarationSyntax>().FirstOrDefault();
                if (declaration is null) return null;
                string keyword = declaration switch
                {
                    RecordDeclarationSyntax r => r.ClassOrStructKeyword.IsKind(SyntaxKind.StructKeyword) ? "record struct" : "record",
                    StructDeclarationSyntax => "struct",
                    InterfaceDeclarationSyntax => "interface",
                    _ => "class",
                };
                string name = SourceNames.Escape(t.Name) + (t.TypeParameters.Length == 0 ? "" : "<" + string.Join(", ", t.TypeParameters.Select(p => SourceNames.Escape(p.Name))) + ">");
                chain.Insert(0, new TypeDeclarationInfo(keyword, name));
            }
            var segments = new List<string>();
            for (var ns = type.ContainingNamespace; ns is { IsGlobalNamespace: false }; ns = ns.ContainingNamespace) segments.Insert(0, ns.Name);
            return new HierarchyInfo(string.Join(".", segments.Select(SourceNames.Escape)), typeKey, new EquatableArray<TypeDeclarationInfo>(chain));
        }

        /// <summary>
        /// PascalCase property names, unique and clear of FloraAdapters' own members. A member already named in
        /// PascalCase keeps its name, whatever the declaration order; the others get a numbered name on a clash.
        /// </summary>
        private static List<TargetPart> AssignPropertyNames(List<TargetPart> targets)
        {
            var used = new HashSet<string>(ReservedPropertyNames);
            var served = targets.Where(t => t.Spec is not null).Select(t => t.Spec!.MemberName).ToList();
            var names = new Dictionary<string, string>();
            foreach (var member in served)
            {
                string name = SourceNames.PascalCase(member);
                if (name == member && used.Add(name)) names[member] = name;
            }
            foreach (var member in served)
            {
                if (names.ContainsKey(member)) continue;
                string name = SourceNames.PascalCase(member), candidate = name;
                for (int n = 2; !used.Add(candidate); n++) candidate = name + "_" + n.ToString(System.Globalization.CultureInfo.InvariantCulture);
                names[member] = candidate;
            }
            return targets.Select(t => t.Spec is null ? t : t with { Spec = t.Spec with { PropertyName = names[t.Spec.MemberName] } }).ToList();
        }
    }
}
