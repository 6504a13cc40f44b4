using System.Collections.Immutable;
using System.Linq;
using Flora.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Flora.Analyzers
{
    /// <summary>
    /// FLORA012: a Flora model holds a norm layer with running statistics (a <c>BatchNorm1d/2d/3d</c>, unless created with a
    /// constant <c>track_running_stats: false</c>; an <c>InstanceNorm1d/2d/3d</c> created with a constant
    /// <c>track_running_stats: true</c>) and its <c>[FloraModel]</c> does not set <c>SaveNormLayers</c>: while adapters are
    /// attached the layer runs in eval mode with its statistics frozen, which the user should choose. Reported on each such
    /// member that is neither a target nor a module to save; the code fix sets <c>SaveNormLayers</c>.
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class NormLayerAnalyzer : FloraAnalyzer
    {
        /// <inheritdoc />
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(DiagnosticDescriptors.UnsavedNormLayer);

        /// <inheritdoc />
        private protected override void Register(CompilationStartAnalysisContext context, ModelReader models)
        {
            var symbols = models.Symbols;
            context.RegisterSymbolAction(c => Analyze(c, symbols), SymbolKind.Field, SymbolKind.Property);
        }

        private static void Analyze(SymbolAnalysisContext context, FloraSymbols symbols)
        {
            var member = context.Symbol;
            if (member.IsStatic || member.IsImplicitlyDeclared || member.ContainingType is not { } type) return;
            // Registered modules only: fields and auto-properties (a property over a field is reported on the field).
            ITypeSymbol? declared = member switch
            {
                IFieldSymbol { IsConst: false } field => field.Type,
                IPropertySymbol { IsIndexer: false } property when HasBackingField(type, property) => property.Type,
                _ => null,
            };
            if (declared is null || symbols.IsAnnotated(member)) return;
            if (!symbols.IsModel(type) || !TorchSymbols.DerivesFromTorchModule(type)) return;
            if (symbols.ModelOf(type)?.SaveNormLayers is not null) return;

            var layer = NormLayerScan.LayerTypeOf(member, declared, context.Compilation, context.CancellationToken);
            if (layer is null || !LayerShapeReader.IsNormLayer(layer)) return;
            bool? tracks = LayerShapeReader.TracksRunningStats(member, context.Compilation, context.CancellationToken);
            bool keepsStatistics = layer.Name.StartsWith("BatchNorm", System.StringComparison.Ordinal) ? tracks != false
                : layer.Name.StartsWith("InstanceNorm", System.StringComparison.Ordinal) && tracks == true;
            if (!keepsStatistics) return;
            context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.UnsavedNormLayer, member.Locations[0], member.Name,
                layer.Name.StartsWith("BatchNorm", System.StringComparison.Ordinal) ? layer.Name : layer.Name + ", track_running_stats: true"));
        }

        private static bool HasBackingField(INamedTypeSymbol type, IPropertySymbol property) =>
            type.GetMembers().OfType<IFieldSymbol>().Any(f => SymbolEqualityComparer.Default.Equals(f.AssociatedSymbol, property));
    }
}
