using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using Flora.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Flora.Analyzers
{
    /// <summary>
    /// FLORA008: the compile-time trainable count (the generator's <c>FloraTrainableParameters</c>, the same shared count)
    /// exceeds <c>[FloraModel(MaxTrainableParameters = …)]</c>: every target's adapter plus every module to save
    /// (<c>[FloraModuleToSave]</c> members, and with <c>SaveNormLayers</c> the norm layers <see cref="NormLayerScan"/> finds),
    /// each counted by <see cref="LayerShapeReader.SavedModuleParameters"/>. Only reported when every one of them is known
    /// at compile time; norm layers inside modules the model's source does not show are not counted (a lower bound).
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class BudgetAnalyzer : FloraAnalyzer
    {
        /// <inheritdoc />
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(DiagnosticDescriptors.OverBudget);

        /// <inheritdoc />
        private protected override void Register(CompilationStartAnalysisContext context, FloraSymbols symbols)
        {
            context.RegisterSymbolAction(c => Analyze(c, symbols), SymbolKind.NamedType);
        }

        private static void Analyze(SymbolAnalysisContext context, FloraSymbols symbols)
        {
            var type = (INamedTypeSymbol)context.Symbol;
            var model = symbols.ModelOf(type);
            if (model is null || TorchSymbols.NamedLong(model, "MaxTrainableParameters") is not long budget || budget <= 0) return;
            var (modelRank, modelR3, _) = TorchSymbols.ModelDefaults(model);

            var counts = new List<(string Name, long Count)>();
            foreach (var (member, attribute) in symbols.TargetsOf(type))
            {
                if (member.IsStatic) continue;
                var shape = LayerShapeReader.Read(member, context.Compilation, context.CancellationToken);
                if (shape.WeightShape is null) return; // not known at compile time: no constant count
                long? count = FloraRankRules.CountTarget(shape.WeightShape, modelRank, modelR3, TorchSymbols.NamedInt(attribute, "Rank"),
                    TorchSymbols.NamedInt(attribute, "InRank"), TorchSymbols.NamedInt(attribute, "OutRank"), TorchSymbols.NamedInt(attribute, "R3"),
                    FloraLayerKinds.RowOf(shape.Kind).Transposed);
                if (count is null) return; // invalid ranks are reported elsewhere (FLORA002/FLORA004)
                counts.Add((member.Name, count.Value));
            }
            foreach (var (member, _) in symbols.ModulesToSaveOf(type))
            {
                if (member.IsStatic || symbols.TargetOf(member) is not null) continue; // FLORA011
                if (LayerShapeReader.SavedModuleParameters(member, context.Compilation, context.CancellationToken) is not long count)
                    return; // not known at compile time: no constant count
                counts.Add((member.Name, count));
            }
            if (TorchSymbols.NamedBool(model, "SaveNormLayers") == true)
            {
                // The norm layers as the generator reads them. One of run-time size leaves no count; modules the model's
                // source does not show (a Sequential's) are left out, so the count is a lower bound there.
                var norms = NormLayerScan.Count(type, context.Compilation, context.CancellationToken);
                if (norms.Blockers.Any(b => b.Kind == CountBlockerKind.NormLayerSize)) return;
                counts.AddRange(norms.Layers);
            }
            long total = counts.Aggregate(0L, (sum, c) => FloraRankRules.SaturatingAdd(sum, c.Count));
            if (total <= budget) return;
            string largest = string.Join(", ", counts.OrderByDescending(c => c.Count).Take(3).Select(c => $"{c.Name} {Number(c.Count)}"));
            context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.OverBudget,
                AttributeArguments.Of(model, "MaxTrainableParameters", context.CancellationToken), type.Name, Number(total), Number(budget), largest));
        }

        private static string Number(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
    }
}
