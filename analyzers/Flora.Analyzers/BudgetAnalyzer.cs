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
    /// (<c>[FloraModuleToSave]</c> members, and with <c>SaveNormLayers</c> the model's norm-layer members), each counted by
    /// <see cref="LayerShapeReader.SavedModuleParameters"/>. Only reported when every one of them is known at compile time.
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
                    TorchSymbols.NamedInt(attribute, "InRank"), TorchSymbols.NamedInt(attribute, "OutRank"), TorchSymbols.NamedInt(attribute, "R3"));
                if (count is null) return; // invalid ranks are reported elsewhere (FLORA002/FLORA004)
                counts.Add((member.Name, count.Value));
            }
            foreach (var member in ModulesToSave(type, symbols, model))
            {
                if (LayerShapeReader.SavedModuleParameters(member, context.Compilation, context.CancellationToken) is not long count)
                    return; // not known at compile time: no constant count
                counts.Add((member.Name, count));
            }
            long total = counts.Aggregate(0L, (sum, c) => FloraRankRules.SaturatingAdd(sum, c.Count));
            if (total <= budget) return;
            string largest = string.Join(", ", counts.OrderByDescending(c => c.Count).Take(3).Select(c => $"{c.Name} {Number(c.Count)}"));
            context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.OverBudget,
                AttributeArguments.Of(model, "MaxTrainableParameters", context.CancellationToken), type.Name, Number(total), Number(budget), largest));
        }

        /// <summary>
        /// The members that train fully: <c>[FloraModuleToSave]</c> ones, and under <c>SaveNormLayers</c> the members typed as
        /// a norm layer; not targets or static members (FLORA011), each once.
        /// </summary>
        private static IEnumerable<ISymbol> ModulesToSave(INamedTypeSymbol type, FloraSymbols symbols, AttributeData model)
        {
            bool norms = TorchSymbols.NamedBool(model, "SaveNormLayers") == true;
            foreach (var member in type.GetMembers())
            {
                if (member.IsImplicitlyDeclared || member.IsStatic || member.Kind is not (SymbolKind.Field or SymbolKind.Property) || symbols.TargetOf(member) is not null)
                    continue;
                if (symbols.ModuleToSaveOf(member) is not null || norms && LayerShapeReader.IsNormLayer(LayerShapeReader.MemberType(member)))
                    yield return member;
            }
        }

        private static string Number(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
    }
}
