using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Flora.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Flora.Analyzers
{
    /// <summary>
    /// FLORA013 (info): under <c>[FloraModel(SaveNormLayers = true)]</c> the generator leaves <c>FloraTrainableParameters</c>
    /// out, and this says which member keeps it from counting: a target or module to save of run-time size, or what
    /// <see cref="NormLayerScan"/> (the generator's own reading of the norm layers) cannot see into. One diagnostic per such
    /// member, on its name.
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class ConstantCountAnalyzer : FloraAnalyzer
    {
        /// <inheritdoc />
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(DiagnosticDescriptors.ConstantCountLeftOut);

        /// <inheritdoc />
        private protected override void Register(CompilationStartAnalysisContext context, FloraSymbols symbols)
        {
            if (symbols.ModelAttribute is null) return;
            context.RegisterSymbolAction(c => Analyze(c, symbols), SymbolKind.NamedType);
        }

        private static void Analyze(SymbolAnalysisContext context, FloraSymbols symbols)
        {
            var type = (INamedTypeSymbol)context.Symbol;
            var model = symbols.ModelOf(type);
            if (model is null || TorchSymbols.NamedBool(model, "SaveNormLayers") != true) return;
            if (!TorchSymbols.DerivesFromTorchModule(type) || !IsPartial(type, context)) return; // FLORA001/FLORA009: nothing is generated

            var reasons = new List<(Location Location, string Reason)>();
            foreach (var (member, _) in symbols.TargetsOf(type))
            {
                if (LayerShapeReader.MemberProblem(member, context.Compilation) is not null) continue; // FLORA006: the generator leaves it out
                var shape = LayerShapeReader.Read(member, context.Compilation, context.CancellationToken);
                if (shape.Kind != LayerKind.Unsupported && shape.WeightShape is null)
                    reasons.Add((member.Locations[0], $"the shape of target '{member.Name}' is not a compile-time constant"));
            }
            foreach (var (member, _) in symbols.ModulesToSaveOf(type))
            {
                bool served = !member.IsStatic && member is IFieldSymbol or IPropertySymbol { IsIndexer: false, GetMethod: not null }
                              && symbols.TargetOf(member) is null && TorchSymbols.IsTorchModule(LayerShapeReader.MemberType(member));
                if (served && LayerShapeReader.SavedModuleParameters(member, context.Compilation, context.CancellationToken) is null)
                    reasons.Add((member.Locations[0], $"the size of module to save '{member.Name}' is not a compile-time constant"));
            }
            foreach (var blocker in NormLayerScan.Count(type, context.Compilation, context.CancellationToken).Blockers)
                reasons.Add((blocker.Location, blocker.Reason));

            foreach (var (location, reason) in reasons)
                context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.ConstantCountLeftOut, location, type.Name, reason));
        }

        /// <summary>Whether the type and every type containing it are declared partial, so that the generator extends it.</summary>
        private static bool IsPartial(INamedTypeSymbol type, SymbolAnalysisContext context)
        {
            for (INamedTypeSymbol? t = type; t is not null; t = t.ContainingType)
            {
                foreach (var reference in t.DeclaringSyntaxReferences)
                    if (reference.GetSyntax(context.CancellationToken) is TypeDeclarationSyntax declaration && !declaration.Modifiers.Any(SyntaxKind.PartialKeyword))
                        return false;
            }
            return true;
        }
    }
}
