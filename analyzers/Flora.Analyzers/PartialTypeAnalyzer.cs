using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Flora.Analyzers
{
    /// <summary>FLORA001: a Flora model, and every type containing it, must be partial so that the generator can add to it.</summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class PartialTypeAnalyzer : DiagnosticAnalyzer
    {
        /// <inheritdoc />
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(DiagnosticDescriptors.NotPartial);

        /// <inheritdoc />
        public override void Initialize(AnalysisContext context)
        {
            context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
            context.EnableConcurrentExecution();
            context.RegisterCompilationStartAction(start =>
            {
                var symbols = FloraSymbols.Resolve(start.Compilation);
                if (symbols is null) return;
                start.RegisterSymbolAction(symbolContext => Analyze(symbolContext, symbols), SymbolKind.NamedType);
            });
        }

        private static void Analyze(SymbolAnalysisContext context, FloraSymbols symbols)
        {
            var model = (INamedTypeSymbol)context.Symbol;
            if (!symbols.IsModel(model)) return;
            for (INamedTypeSymbol? type = model; type is not null; type = type.ContainingType)
            {
                foreach (var reference in type.DeclaringSyntaxReferences)
                {
                    if (reference.GetSyntax(context.CancellationToken) is not TypeDeclarationSyntax declaration) continue;
                    if (declaration.Modifiers.Any(SyntaxKind.PartialKeyword)) continue;
                    string reason = ReferenceEquals(type, model)
                        ? "the Flora generator adds AttachFlora() and the other adapter members to it"
                        : $"it contains the Flora model '{model.Name}', and the generator re-opens every containing type";
                    context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.NotPartial, declaration.Identifier.GetLocation(), type.Name, reason));
                }
            }
        }
    }
}
