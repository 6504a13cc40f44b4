using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using Flora.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Flora.Analyzers
{
    /// <summary>
    /// FLORA008: the compile-time trainable count exceeds <c>[FloraModel(MaxTrainableParameters = …)]</c>. The count is
    /// the generator's <c>FloraTrainableParameters</c>, read by the same <see cref="ModelReader"/>: every target's adapter
    /// and every module to save of the model and of the models nested in it, and under <c>SaveNormLayers</c> every norm
    /// layer of the tree. Only reported when the count is known at compile time (FLORA013 says why it is not).
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class BudgetAnalyzer : FloraAnalyzer
    {
        /// <inheritdoc />
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(DiagnosticDescriptors.OverBudget);

        /// <inheritdoc />
        private protected override void Register(CompilationStartAnalysisContext context, ModelReader models)
        {
            context.RegisterSymbolAction(c => Analyze(c, models), SymbolKind.NamedType);
        }

        private static void Analyze(SymbolAnalysisContext context, ModelReader models)
        {
            var type = (INamedTypeSymbol)context.Symbol;
            var model = models.Symbols.ModelOf(type);
            if (model?.MaxTrainableParameters is not long budget || budget <= 0) return;
            var count = models.Read(type, context.CancellationToken).Count;
            if (count.FloraTotal is not long total || total <= budget) return;
            string largest = string.Join(", ", count.Parts.OrderByDescending(p => p.Parameters).Take(3).Select(p => $"{p.Path} {Number(p.Parameters)}"));
            context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.OverBudget,
                AttributeArguments.Of(model.Data, FloraArgumentNames.MaxTrainableParameters, context.CancellationToken), type.Name, Number(total), Number(budget), largest));
        }

        private static string Number(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
    }
}
