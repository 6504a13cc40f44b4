using System.Collections.Immutable;
using System.Composition;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Flora.Analyzers.CodeFixes
{
    /// <summary>
    /// FLORA015: replaces the string literal the diagnostic marks by the usable name it carries (each refused character
    /// made '_'; "adapter_1" when nothing of the name is usable). A named constant or a concatenation is left to the user:
    /// its declaration may be used elsewhere.
    /// </summary>
    [ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(UsableAdapterNameCodeFix)), Shared]
    public sealed class UsableAdapterNameCodeFix : CodeFixProvider
    {
        /// <inheritdoc />
        public override ImmutableArray<string> FixableDiagnosticIds => ImmutableArray.Create(FloraDiagnosticIds.UnusableAdapterName);

        /// <inheritdoc />
        public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

        /// <inheritdoc />
        public override async Task RegisterCodeFixesAsync(CodeFixContext context)
        {
            var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
            if (root is null) return;
            foreach (var diagnostic in context.Diagnostics)
            {
                if (!diagnostic.Properties.TryGetValue(DiagnosticDescriptors.UsableName, out var usable) || usable is null) continue;
                if (root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true) is not LiteralExpressionSyntax literal
                    || !literal.IsKind(SyntaxKind.StringLiteralExpression)
                    || literal.Span != diagnostic.Location.SourceSpan)
                    continue;
                context.RegisterCodeFix(
                    CodeAction.Create($"Use the name \"{usable}\"", cancellationToken => ReplaceAsync(context.Document, literal, usable, cancellationToken),
                        nameof(UsableAdapterNameCodeFix) + usable),
                    diagnostic);
            }
        }

        private static async Task<Document> ReplaceAsync(Document document, LiteralExpressionSyntax literal, string usable, CancellationToken cancellationToken)
        {
            var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
            if (root is null) return document;
            var replacement = SyntaxFactory.LiteralExpression(SyntaxKind.StringLiteralExpression, SyntaxFactory.Literal(usable)).WithTriviaFrom(literal);
            return document.WithSyntaxRoot(root.ReplaceNode(literal, replacement));
        }
    }
}
