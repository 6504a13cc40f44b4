using System.Collections.Immutable;
using Flora.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Flora.Analyzers
{
    /// <summary>
    /// FLORA013 (info): under <c>[FloraModel(SaveNormLayers = true)]</c> the generator leaves <c>FloraTrainableParameters</c>
    /// out, and this says which member keeps it from counting: a target or module to save of run-time size, a nested
    /// model the compilation does not pin down, or what <see cref="NormLayerScan"/> cannot see into — the blockers of the
    /// generator's own reading (<see cref="ModelReader"/>). One diagnostic per such member, on its name.
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class ConstantCountAnalyzer : FloraAnalyzer
    {
        /// <inheritdoc />
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(DiagnosticDescriptors.ConstantCountLeftOut);

        /// <inheritdoc />
        private protected override void Register(CompilationStartAnalysisContext context, ModelReader models)
        {
            if (models.Symbols.ModelAttribute is null) return;
            context.RegisterSymbolAction(c => Analyze(c, models), SymbolKind.NamedType);
        }

        private static void Analyze(SymbolAnalysisContext context, ModelReader models)
        {
            var type = (INamedTypeSymbol)context.Symbol;
            if (models.Symbols.ModelOf(type)?.SaveNormLayers != true) return;
            var model = models.Read(type, context.CancellationToken);
            if (!model.CanGenerate) return; // FLORA001/FLORA009: nothing is generated
            foreach (var blocker in model.Count.Blockers)
                context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.ConstantCountLeftOut, blocker.Location, type.Name, blocker.Reason));
        }
    }
}
