using System.Collections.Immutable;
using System.Linq;
using Flora.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Flora.Analyzers
{
    /// <summary>FLORA001: a Flora model, and every type containing it, must be partial so that the generator can add to it.</summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class PartialTypeAnalyzer : FloraAnalyzer
    {
        /// <inheritdoc />
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(DiagnosticDescriptors.NotPartial);

        /// <inheritdoc />
        private protected override void Register(CompilationStartAnalysisContext context, ModelReader models)
        {
            var symbols = models.Symbols;
            context.RegisterSymbolAction(symbolContext => Analyze(symbolContext, symbols), SymbolKind.NamedType);
        }

        /// <summary>
        /// Reports on the analysed type itself (so that editors offer the fix where the diagnostic is): a model, or a type
        /// that contains one at any depth, whose declaration lacks <c>partial</c>, or that is file-local.
        /// </summary>
        private static void Analyze(SymbolAnalysisContext context, FloraSymbols symbols)
        {
            var type = (INamedTypeSymbol)context.Symbol;
            bool isModel = symbols.IsModel(type);
            var nestedModel = isModel ? null : NestedModel(type, symbols);
            if (!isModel && nestedModel is null) return;
            string reason = isModel
                ? "the Flora generator adds AttachFlora() and the other adapter members to it"
                : $"it contains the Flora model '{nestedModel!.Name}', and the generator re-opens every containing type";
            foreach (var reference in type.DeclaringSyntaxReferences)
            {
                if (reference.GetSyntax(context.CancellationToken) is not TypeDeclarationSyntax declaration) continue;
                if (declaration.Modifiers.Any(SyntaxKind.FileKeyword))
                    context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.NotPartial, declaration.Identifier.GetLocation(), type.Name,
                        "it is file-local, and the generator cannot add members to a file-local type from another file; remove the file modifier"));
                else if (!declaration.Modifiers.Any(SyntaxKind.PartialKeyword))
                    context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.NotPartial, declaration.Identifier.GetLocation(), type.Name, reason));
            }
        }

        /// <summary>A Flora model nested in <paramref name="type"/> at any depth, or null.</summary>
        private static INamedTypeSymbol? NestedModel(INamedTypeSymbol type, FloraSymbols symbols)
        {
            foreach (var nested in type.GetTypeMembers())
            {
                if (symbols.IsModel(nested)) return nested;
                if (NestedModel(nested, symbols) is { } deeper) return deeper;
            }
            return null;
        }
    }
}
