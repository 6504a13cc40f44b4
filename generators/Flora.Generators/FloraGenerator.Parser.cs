using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using System.Threading;
using Flora.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Flora.Generators
{
    public sealed partial class FloraGenerator
    {
        internal const string TargetAttributeName = TorchSymbols.TargetAttribute;
        internal const string ModelAttributeName = TorchSymbols.ModelAttribute;
        internal const string ModuleToSaveAttributeName = TorchSymbols.ModuleToSaveAttribute;

        /// <summary>
        /// Symbols → specs. Each [FloraTarget] member is read on its own (<see cref="ParseTarget"/>: its layer, shape and
        /// settings plus a small header of its model), and the entries are grouped into one <see cref="ModelSpec"/> per
        /// model after collection (<see cref="BuildModels"/>), so an edit costs work linear in the number of targets.
        /// Nothing is generated for types the generator cannot extend; the analyzers report why.
        /// </summary>
        internal static class Parser
        {
            /// <summary>Names FloraAdapters already uses or inherits from object.</summary>
            private static readonly HashSet<string> ReservedPropertyNames = new()
            {
                "All", "Attachment", "TrainableParameters", "Method", "ToString", "Equals", "GetHashCode", "GetType",
                "ReferenceEquals", "MemberwiseClone", "Finalize", "FloraAdapters",
            };

            /// <summary>The entry of one [FloraTarget] member, or null when its model gets no generated code.</summary>
            public static MemberEntry? ParseTarget(ISymbol member, Compilation compilation, CancellationToken cancellationToken)
            {
                if (member.ContainingType is not { } type || !CanGenerateFor(type, cancellationToken)) return null;
                var header = Header(type, cancellationToken);
                if (header is null) return null;
                var attribute = TorchSymbols.Attribute(member, TargetAttributeName);
                int order = type.GetMembers().IndexOf(member, SymbolEqualityComparer.Default);
                if (attribute is null || LayerShapeReader.MemberProblem(member, compilation) is not null) return new MemberEntry(header, order, null);
                LayerShape shape = LayerShapeReader.Read(member, compilation, cancellationToken);
                if (shape.Kind == LayerKind.Unsupported) return new MemberEntry(header, order, null);
                return new MemberEntry(header, order, new TargetSpec
                {
                    MemberName = member.Name,
                    Kind = shape.Kind,
                    CanStoreWrapper = CanStoreWrapper(member, compilation, cancellationToken),
                    Rank = TorchSymbols.NamedInt(attribute, "Rank"),
                    InRank = TorchSymbols.NamedInt(attribute, "InRank"),
                    OutRank = TorchSymbols.NamedInt(attribute, "OutRank"),
                    R3 = TorchSymbols.NamedInt(attribute, "R3"),
                    Scale = TorchSymbols.NamedDouble(attribute, "Scale"),
                    LoraRank = Unset(TorchSymbols.NamedInt(attribute, "LoraRank")),
                    LoraAlpha = Unset(TorchSymbols.NamedDouble(attribute, "LoraAlpha")),
                    AdapterSize = Unset(TorchSymbols.NamedInt(attribute, "AdapterSize")),
                    WeightShape = shape.WeightShape is null ? EquatableArray<long>.Empty : new EquatableArray<long>(shape.WeightShape),
                    OutChannels = shape.OutChannels,
                });
            }

            /// <summary>
            /// The entry of one [FloraModuleToSave] member, or null when its model gets no generated code. A member that is
            /// also a target, static, or not a TorchSharp module gets no part (FLORA011 says why).
            /// </summary>
            public static MemberEntry? ParseModuleToSave(ISymbol member, Compilation compilation, CancellationToken cancellationToken)
            {
                if (member.ContainingType is not { } type || !CanGenerateFor(type, cancellationToken)) return null;
                var header = Header(type, cancellationToken);
                if (header is null) return null;
                int order = type.GetMembers().IndexOf(member, SymbolEqualityComparer.Default);
                bool servable = !member.IsStatic && member is IFieldSymbol or IPropertySymbol { IsIndexer: false, GetMethod: not null }
                                && TorchSymbols.Attribute(member, TargetAttributeName) is null
                                && TorchSymbols.IsTorchModule(LayerShapeReader.MemberType(member));
                if (!servable) return new MemberEntry(header, order, null);
                return new MemberEntry(header, order, null, new SavedModuleSpec
                {
                    MemberName = member.Name,
                    Parameters = LayerShapeReader.SavedModuleParameters(member, compilation, cancellationToken),
                });
            }

            /// <summary>
            /// The entry announcing a [FloraModel] type (its parts may all be nested models), or null when it gets no code.
            /// With <c>SaveNormLayers</c> it also carries the norm layers of the model's tree (<see cref="NormLayerScan"/>),
            /// which the constant count then includes.
            /// </summary>
            public static MemberEntry? ParseModelType(ISymbol symbol, Compilation compilation, CancellationToken cancellationToken)
            {
                if (symbol is not INamedTypeSymbol type || !CanGenerateFor(type, cancellationToken)) return null;
                var header = Header(type, cancellationToken);
                if (header is null) return null;
                var norms = header.SaveNormLayers ? new NormLayersSpec { Parameters = NormLayerScan.Count(type, compilation, cancellationToken).Parameters } : null;
                return new MemberEntry(header, -1, null, NormLayers: norms);
            }

            /// <summary>Groups the entries into one spec per model, in a deterministic order, with unique file names.</summary>
            public static ImmutableArray<ModelSpec> BuildModels(ImmutableArray<MemberEntry> entries, CancellationToken cancellationToken)
            {
                var models = new List<ModelSpec>();
                var countsByType = new Dictionary<string, List<(CountKind Kind, long Value)>>(StringComparer.Ordinal);
                var hintNames = GeneratedFileNames.NewHintNameSet();
                foreach (var group in entries.GroupBy(e => e.Header.TypeKey).OrderBy(g => g.Key, StringComparer.Ordinal))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var header = group.First().Header;
                    var targets = group.Where(e => e.Target is not null).GroupBy(e => e.Order).Select(g => g.First())
                        .OrderBy(e => e.Order).Select(e => e.Target!).ToList();
                    var saved = group.Where(e => e.Saved is not null).GroupBy(e => e.Order).Select(g => g.First())
                        .OrderBy(e => e.Order).Select(e => e.Saved!).ToList();
                    // A [FloraModel] type with no annotated member and no nested model has nothing to attach; a type with
                    // annotated members gets its members even when none can be served (the analyzers say why).
                    if (group.All(e => e.Order < 0) && header.NestedMembers.Count == 0) continue;
                    targets = AssignPropertyNames(targets);
                    string hint = GeneratedFileNames.UniqueHintName(hintNames, header.Hierarchy.PlainName, ".Flora.g.cs");
                    var norms = group.Select(e => e.NormLayers).FirstOrDefault(n => n is not null);
                    countsByType[header.TypeKey] = CountConstants.For(targets, saved, header, norms);
                    models.Add(new ModelSpec
                    {
                        Header = header,
                        Targets = new EquatableArray<TargetSpec>(targets),
                        ModulesToSave = new EquatableArray<SavedModuleSpec>(saved),
                        HintName = hint,
                    });
                }
                // A derived model's constant hides its base's only when the base has that one too (else `new` would warn CS0109).
                bool BaseHas(ModelHeader header, CountKind kind) =>
                    header.BaseCountsInMetadata.Contains(CountConstants.Name(kind))
                    || (header.SourceBaseKey.Length > 0 && countsByType.TryGetValue(header.SourceBaseKey, out var baseCounts) && baseCounts.Any(c => c.Kind == kind));
                return models.Select(m => m with
                {
                    Counts = new EquatableArray<CountConstantSpec>(countsByType[m.Header.TypeKey].Select(c =>
                        new CountConstantSpec { Kind = c.Kind, Value = c.Value, HidesBase = BaseHas(m.Header, c.Kind) })),
                }).ToImmutableArray();
            }

            /// <summary>
            /// A class deriving from TorchSharp's Module, declared partial together with every containing type, not
            /// file-local, and not named like the nested class the generator adds. Anything else gets no source (the
            /// analyzers report FLORA001 and FLORA009).
            /// </summary>
            private static bool CanGenerateFor(INamedTypeSymbol type, CancellationToken cancellationToken)
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

            private static ModelHeader? Header(INamedTypeSymbol type, CancellationToken cancellationToken)
            {
                HierarchyInfo? hierarchy = Hierarchy(type, cancellationToken);
                if (hierarchy is null) return null;
                var model = TorchSymbols.Attribute(type, ModelAttributeName);
                var (hides, sourceBase, baseCounts) = GeneratedBase(type, cancellationToken);
                var defaults = TorchSymbols.ModelDefaults(model);
                return new ModelHeader
                {
                    HidesBaseModel = hides,
                    SourceBaseKey = sourceBase,
                    BaseCountsInMetadata = baseCounts,
                    TypeKey = hierarchy.PlainName,
                    Hierarchy = hierarchy,
                    DisplayName = type.Name,
                    Rank = defaults.Rank,
                    R3 = defaults.R3,
                    Scale = defaults.Scale,
                    LoraRank = Unset(TorchSymbols.NamedInt(model, "LoraRank")),
                    LoraAlpha = Unset(TorchSymbols.NamedDouble(model, "LoraAlpha")),
                    SaveNormLayers = TorchSymbols.NamedBool(model, "SaveNormLayers") ?? false,
                    AdapterSize = Unset(TorchSymbols.NamedInt(model, "AdapterSize")),
                    AdaLoraTargetRank = Unset(TorchSymbols.NamedInt(model, "AdaLoraTargetRank")),
                    AdaLoraInitRank = Unset(TorchSymbols.NamedInt(model, "AdaLoraInitRank")),
                    NestedMembers = new EquatableArray<string>(NestedMembers(type, cancellationToken)),
                };
            }

            /// <summary>An attribute's int or double left at 0 means unset.</summary>
            private static int? Unset(int? value) => value == 0 ? null : value;

            private static double? Unset(double? value) => value == 0 ? null : value;

            /// <summary>
            /// Instance fields and properties (without Flora attributes) holding an annotated model, or a module list of them:
            /// their targets and modules to save join this model's attachment under the member's path.
            /// </summary>
            private static IEnumerable<string> NestedMembers(INamedTypeSymbol type, CancellationToken cancellationToken)
            {
                foreach (var member in type.GetMembers())
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (member.IsStatic || member.IsImplicitlyDeclared) continue;
                    if (member is not (IFieldSymbol { IsConst: false } or IPropertySymbol { IsIndexer: false, GetMethod: not null })) continue;
                    if (TorchSymbols.Attribute(member, TargetAttributeName) is not null || TorchSymbols.Attribute(member, ModuleToSaveAttributeName) is not null) continue;
                    if (LayerShapeReader.MemberType(member) is not INamedTypeSymbol memberType) continue;
                    if (IsComposable(memberType, cancellationToken) || IsModuleListOfComposable(memberType, cancellationToken)) yield return member.Name;
                }
            }

            /// <summary>A model type the generator extends (in source, with Flora attributes) or that implements <c>IFloraComposable</c>.</summary>
            private static bool IsComposable(INamedTypeSymbol type, CancellationToken cancellationToken)
            {
                if (type.AllInterfaces.Any(i => i.ToDisplayString() == TorchSymbols.ComposableInterface)) return true;
                if (type.DeclaringSyntaxReferences.Length == 0 || !CanGenerateFor(type, cancellationToken)) return false;
                return TorchSymbols.Attribute(type, ModelAttributeName) is not null || HasAnnotatedMembers(type);
            }

            /// <summary>Whether <paramref name="type"/> declares <c>[FloraTarget]</c> or <c>[FloraModuleToSave]</c> members: then it gets generated members.</summary>
            private static bool HasAnnotatedMembers(INamedTypeSymbol type) =>
                type.GetMembers().Any(m => TorchSymbols.Attribute(m, TargetAttributeName) is not null || TorchSymbols.Attribute(m, ModuleToSaveAttributeName) is not null);

            private static bool IsModuleListOfComposable(INamedTypeSymbol type, CancellationToken cancellationToken) =>
                type is { Name: "ModuleList", Arity: 1 } && type.ContainingNamespace.ToDisplayString() == "TorchSharp.Modules"
                && type.TypeArguments[0] is INamedTypeSymbol item && IsComposable(item, cancellationToken);


            /// <summary>
            /// Whether a base type has the generated members: from metadata (another assembly's generated code is there), or
            /// in source when the generator will extend it (the current compilation does not hold our output yet); the
            /// nearest such source base's key; the count constants a metadata base has.
            /// </summary>
            private static (bool Hides, string SourceBaseKey, EquatableArray<string> BaseCountsInMetadata) GeneratedBase(INamedTypeSymbol type, CancellationToken cancellationToken)
            {
                for (var t = type.BaseType; t is not null && t.TypeKind != TypeKind.Error; t = t.BaseType)
                {
                    if (!t.GetMembers("AttachFlora").IsEmpty)
                        return (true, "", new EquatableArray<string>(CountConstants.Names.Where(name => !t.GetMembers(name).IsEmpty)));
                    if (t.DeclaringSyntaxReferences.Length > 0 && CanGenerateFor(t, cancellationToken) && HasAnnotatedMembers(t))
                        return (true, Hierarchy(t, cancellationToken)?.PlainName ?? "", EquatableArray<string>.Empty);
                }
                return (false, "", EquatableArray<string>.Empty);
            }

            private static HierarchyInfo? Hierarchy(INamedTypeSymbol type, CancellationToken cancellationToken)
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
                    string name = Escape(t.Name) + (t.TypeParameters.Length == 0 ? "" : "<" + string.Join(", ", t.TypeParameters.Select(p => Escape(p.Name))) + ">");
                    chain.Insert(0, new TypeDeclarationInfo(keyword, name));
                }
                var segments = new List<string>();
                for (var ns = type.ContainingNamespace; ns is { IsGlobalNamespace: false }; ns = ns.ContainingNamespace) segments.Insert(0, ns.Name);
                return new HierarchyInfo(string.Join(".", segments.Select(Escape)), GeneratedFileNames.TypeKey(type), new EquatableArray<TypeDeclarationInfo>(chain));
            }

            /// <summary>
            /// Whether the member can hold the adapter's wrapper: the opposite of <see cref="ForwardCalls.IsHookBound"/>, the one
            /// rule the interceptors and FLORA010 use too (a writable member whose type accepts the adapter type).
            /// </summary>
            private static bool CanStoreWrapper(ISymbol member, Compilation compilation, CancellationToken cancellationToken) =>
                LayerShapeReader.MemberType(member) is { } memberType && !ForwardCalls.IsHookBound(member, memberType, compilation, cancellationToken);

            /// <summary>
            /// PascalCase property names, unique and clear of FloraAdapters' own members. A member already named in
            /// PascalCase keeps its name, whatever the declaration order; the others get a numbered name on a clash.
            /// </summary>
            private static List<TargetSpec> AssignPropertyNames(List<TargetSpec> targets)
            {
                var used = new HashSet<string>(ReservedPropertyNames);
                var names = new string[targets.Count];
                for (int i = 0; i < targets.Count; i++)
                {
                    string name = PascalCase(targets[i].MemberName);
                    if (name == targets[i].MemberName && used.Add(name)) names[i] = name;
                }
                for (int i = 0; i < targets.Count; i++)
                {
                    if (names[i] is not null) continue;
                    string name = PascalCase(targets[i].MemberName), candidate = name;
                    for (int n = 2; !used.Add(candidate); n++) candidate = name + "_" + n.ToString(CultureInfo.InvariantCulture);
                    names[i] = candidate;
                }
                return targets.Select((t, i) => t with { PropertyName = names[i] }).ToList();
            }

            /// <summary><c>conv1</c> → <c>Conv1</c>, <c>_head</c> → <c>Head</c>, <c>m_x</c> → <c>M_x</c>.</summary>
            internal static string PascalCase(string name)
            {
                string trimmed = name.TrimStart('_');
                if (trimmed.Length == 0) return "Target";
                if (char.IsDigit(trimmed[0])) trimmed = "Target" + trimmed;
                return char.ToUpperInvariant(trimmed[0]) + trimmed.Substring(1);
            }

            /// <summary>An identifier as C# source: keywords get a verbatim <c>@</c>.</summary>
            internal static string Escape(string identifier) =>
                SyntaxFacts.GetKeywordKind(identifier) != SyntaxKind.None ? "@" + identifier : identifier;
        }
    }
}
