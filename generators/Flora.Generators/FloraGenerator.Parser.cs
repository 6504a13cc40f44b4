using System.Collections.Generic;
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

        /// <summary>Turns an annotated model type into a <see cref="ModelSpec"/>; returns null when nothing can be generated.</summary>
        internal static class Parser
        {
            /// <summary>Names the generated FloraAdapters class already uses.</summary>
            private static readonly HashSet<string> ReservedPropertyNames = new()
            {
                "All", "Attachment", "TrainableParameters", "Method", "ToString", "Equals", "GetHashCode", "GetType", "FloraAdapters",
            };

            public static ModelSpec? Parse(INamedTypeSymbol type, Compilation compilation, CancellationToken cancellationToken)
            {
                if (!CanGenerateFor(type, cancellationToken)) return null;
                HierarchyInfo? hierarchy = Hierarchy(type, cancellationToken);
                if (hierarchy is null) return null;

                var model = TorchSymbols.Attribute(type, ModelAttributeName);
                int rank = TorchSymbols.NamedInt(model, "Rank") ?? FloraRankRules.DefaultRank;
                int r3 = TorchSymbols.NamedInt(model, "R3") ?? FloraRankRules.DefaultR3;
                double scale = TorchSymbols.NamedDouble(model, "Scale") ?? FloraRankRules.DefaultScale;

                var targets = new List<TargetSpec>();
                var usedNames = new HashSet<string>(ReservedPropertyNames);
                foreach (var member in type.GetMembers())
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (member.IsStatic || member is not (IFieldSymbol or IPropertySymbol) || member.IsImplicitlyDeclared) continue;
                    if (member is IPropertySymbol { IsIndexer: true }) continue;
                    var attribute = TorchSymbols.Attribute(member, TargetAttributeName);
                    if (attribute is null) continue;
                    LayerShape shape = LayerShapeReader.Read(member, compilation, cancellationToken);
                    if (shape.Kind == LayerKind.Unsupported) continue;
                    targets.Add(new TargetSpec
                    {
                        MemberName = member.Name,
                        PropertyName = UniqueName(PascalCase(member.Name), usedNames),
                        Kind = shape.Kind,
                        CanStoreWrapper = CanStoreWrapper(member, shape.Kind, compilation),
                        Rank = TorchSymbols.NamedInt(attribute, "Rank"),
                        InRank = TorchSymbols.NamedInt(attribute, "InRank"),
                        OutRank = TorchSymbols.NamedInt(attribute, "OutRank"),
                        R3 = TorchSymbols.NamedInt(attribute, "R3"),
                        Scale = TorchSymbols.NamedDouble(attribute, "Scale"),
                        WeightShape = shape.WeightShape is null ? EquatableArray<long>.Empty : new EquatableArray<long>(shape.WeightShape),
                    });
                }

                return new ModelSpec
                {
                    Hierarchy = hierarchy,
                    DisplayName = type.Name,
                    Rank = rank,
                    R3 = r3,
                    Scale = scale,
                    Targets = new EquatableArray<TargetSpec>(targets),
                    ConstTrainableParameters = ConstCount(targets, rank, r3),
                };
            }

            /// <summary>
            /// A class deriving from TorchSharp's Module, declared partial together with every containing type.
            /// Anything else gets no source (the analyzers report FLORA001 and FLORA009).
            /// </summary>
            private static bool CanGenerateFor(INamedTypeSymbol type, CancellationToken cancellationToken)
            {
                if (type.TypeKind != TypeKind.Class || type.IsStatic || !TorchSymbols.DerivesFromTorchModule(type)) return false;
                for (INamedTypeSymbol? t = type; t is not null; t = t.ContainingType)
                {
                    var declarations = t.DeclaringSyntaxReferences.Select(r => r.GetSyntax(cancellationToken)).OfType<TypeDeclarationSyntax>().ToList();
                    if (declarations.Count == 0 || declarations.Any(d => !d.Modifiers.Any(SyntaxKind.PartialKeyword))) return false;
                }
                return true;
            }

            private static HierarchyInfo? Hierarchy(INamedTypeSymbol type, CancellationToken cancellationToken)
            {
                var chain = new List<TypeDeclarationInfo>();
                var hint = new List<string>();
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
                    hint.Insert(0, t.Name + (t.Arity == 0 ? "" : "`" + t.Arity.ToString(CultureInfo.InvariantCulture)));
                }
                string ns = type.ContainingNamespace is { IsGlobalNamespace: false } n ? n.ToDisplayString() : "";
                if (ns.Length > 0) hint.Insert(0, ns);
                return new HierarchyInfo(ns, new EquatableArray<TypeDeclarationInfo>(chain), string.Join(".", hint) + ".Flora.g.cs");
            }

            /// <summary>
            /// Whether the member can hold the adapter's wrapper: a writable field or a property with a plain setter whose
            /// type accepts the adapter type (e.g. <c>Module&lt;Tensor, Tensor&gt;</c>). TorchSharp's layer types are sealed,
            /// so members typed <c>Conv2d</c> keep the base layer and reach the adapter through a forward hook.
            /// </summary>
            private static bool CanStoreWrapper(ISymbol member, LayerKind kind, Compilation compilation)
            {
                bool writable = member switch
                {
                    IFieldSymbol f => !f.IsReadOnly && !f.IsConst,
                    IPropertySymbol p => p.SetMethod is { IsInitOnly: false },
                    _ => false,
                };
                if (!writable) return false;
                var adapterType = compilation.GetTypeByMetadataName("Flora." + AdapterTypeName(kind));
                var memberType = LayerShapeReader.MemberType(member);
                return adapterType is not null && memberType is not null && compilation.ClassifyConversion(adapterType, memberType).IsImplicit;
            }

            /// <summary>The compile-time count, when every target's shape is known and its ranks resolve without error.</summary>
            private static long? ConstCount(IReadOnlyList<TargetSpec> targets, int modelRank, int modelR3)
            {
                if (targets.Count == 0 || targets.Any(t => !t.ShapeKnown)) return null;
                long total = 0;
                foreach (var t in targets)
                {
                    long? count = FloraRankRules.CountTarget(t.WeightShape.ToArray(), modelRank, modelR3, t.Rank, t.InRank, t.OutRank, t.R3);
                    if (count is null) return null;
                    total += count.Value;
                }
                return total;
            }

            internal static string AdapterTypeName(LayerKind kind) => kind switch
            {
                LayerKind.Linear => "FloraLinear",
                LayerKind.Conv1d => "FloraConv1d",
                LayerKind.Conv2d => "FloraConv2d",
                _ => "FloraConv3d",
            };

            /// <summary><c>conv1</c> → <c>Conv1</c>, <c>_head</c> → <c>Head</c>, <c>m_x</c> → <c>M_x</c>.</summary>
            internal static string PascalCase(string name)
            {
                string trimmed = name.TrimStart('_');
                if (trimmed.Length == 0) return "Target";
                if (char.IsDigit(trimmed[0])) trimmed = "Target" + trimmed;
                return char.ToUpperInvariant(trimmed[0]) + trimmed.Substring(1);
            }

            private static string UniqueName(string name, HashSet<string> used)
            {
                string candidate = name;
                for (int i = 2; !used.Add(candidate); i++) candidate = name + "_" + i.ToString(CultureInfo.InvariantCulture);
                return candidate;
            }

            /// <summary>An identifier as C# source: keywords get a verbatim <c>@</c>.</summary>
            internal static string Escape(string identifier) =>
                SyntaxFacts.GetKeywordKind(identifier) != SyntaxKind.None ? "@" + identifier : identifier;
        }
    }
}
