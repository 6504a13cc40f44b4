using System.Collections.Immutable;
using System.Composition;
using System.Linq;
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
    /// FLORA002, FLORA003, FLORA004, FLORA005, FLORA007, FLORA014: replaces the attribute argument the diagnostic marks with
    /// the text of its <see cref="DiagnosticDescriptors.Replacement"/> property (<c>R3 = 3</c>, <c>OutRank = 16, InRank = 1</c>,
    /// <c>Scale = 0.4</c>, <c>AdaLoraInitRank = 16</c>), or removes it when that text is empty (a negative AdapterSize, and
    /// the parentheses when no argument is left). FLORA002 on a FLoRA rank carries no replacement and gets no fix. A
    /// diagnostic that marks a whole attribute without the argument (a LoraRank inherited from <c>[FloraModel]</c>) gets
    /// the replacement added as the attribute's last argument.
    /// </summary>
    [ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(ReplaceAttributeArgumentCodeFix)), Shared]
    public sealed class ReplaceAttributeArgumentCodeFix : CodeFixProvider
    {
        /// <inheritdoc />
        public override ImmutableArray<string> FixableDiagnosticIds => ImmutableArray.Create(
            FloraDiagnosticIds.RankBelowOne, FloraDiagnosticIds.RankExceedsMode, FloraDiagnosticIds.R3ExceedsKernel, FloraDiagnosticIds.R3OnLinear,
            FloraDiagnosticIds.InvalidScale, FloraDiagnosticIds.AdaLoraTargetAboveInit);

        /// <inheritdoc />
        public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

        /// <inheritdoc />
        public override async Task RegisterCodeFixesAsync(CodeFixContext context)
        {
            var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
            if (root is null) return;
            foreach (var diagnostic in context.Diagnostics)
            {
                if (!diagnostic.Properties.TryGetValue(DiagnosticDescriptors.Replacement, out string? replacement) || replacement is null
                    || !diagnostic.Properties.TryGetValue(DiagnosticDescriptors.ArgumentName, out string? name) || name is null)
                    continue;
                var node = root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true);
                if (node.FirstAncestorOrSelf<AttributeSyntax>() is { } marked && marked.Span == diagnostic.Location.SourceSpan)
                {
                    RegisterAddition(context, diagnostic, marked, name, replacement.Trim());
                    continue;
                }
                if (node.FirstAncestorOrSelf<AttributeArgumentSyntax>() is not { } argument
                    || argument.Span != diagnostic.Location.SourceSpan
                    || argument.NameEquals?.Name.Identifier.ValueText != name
                    || argument.Parent is not AttributeArgumentListSyntax)
                    continue;
                replacement = replacement.Trim();
                AttributeArgumentListSyntax? parsed = null;
                if (replacement.Length > 0)
                {
                    parsed = SyntaxFactory.ParseAttributeArgumentList("(" + replacement + ")");
                    if (parsed is null || parsed.ContainsDiagnostics || parsed.Arguments.Count == 0) continue;
                }
                string title = replacement.Length == 0 ? "Remove " + name
                    : parsed!.Arguments.Count > 1 ? "Use " + replacement
                    : "Set " + replacement;
                context.RegisterCodeFix(
                    CodeAction.Create(title, cancellationToken => ReplaceAsync(context.Document, argument, parsed, cancellationToken),
                        nameof(ReplaceAttributeArgumentCodeFix) + "." + diagnostic.Id),
                    diagnostic);
            }
        }

        /// <summary>Offers <c>Add LoraRank = 10</c> on an attribute that does not set the argument yet.</summary>
        private static void RegisterAddition(CodeFixContext context, Diagnostic diagnostic, AttributeSyntax attribute, string name, string replacement)
        {
            if (replacement.Length == 0 || attribute.ArgumentList?.Arguments.Any(a => a.NameEquals?.Name.Identifier.ValueText == name) == true) return;
            var parsed = SyntaxFactory.ParseAttributeArgumentList("(" + replacement + ")");
            if (parsed is null || parsed.ContainsDiagnostics || parsed.Arguments.Count == 0) return;
            context.RegisterCodeFix(
                CodeAction.Create("Add " + replacement, cancellationToken => AddAsync(context.Document, attribute, parsed, cancellationToken),
                    nameof(ReplaceAttributeArgumentCodeFix) + "." + diagnostic.Id),
                diagnostic);
        }

        private static async Task<Document> AddAsync(Document document, AttributeSyntax attribute, AttributeArgumentListSyntax added, CancellationToken cancellationToken)
        {
            var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
            if (root is null) return document;
            return document.WithSyntaxRoot(root.ReplaceNode(attribute, AttributeEdits.WithAddedArguments(attribute, added)));
        }

        private static async Task<Document> ReplaceAsync(Document document, AttributeArgumentSyntax argument, AttributeArgumentListSyntax? replacement, CancellationToken cancellationToken)
        {
            var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
            if (root is null || argument.Parent is not AttributeArgumentListSyntax list || list.Parent is not AttributeSyntax attribute) return document;
            SyntaxNode newAttribute;
            if (replacement is null)
            {
                var remaining = list.Arguments.Remove(argument);
                newAttribute = remaining.Count == 0
                    ? attribute.WithArgumentList(null).WithTrailingTrivia(attribute.GetTrailingTrivia())
                    : attribute.WithArgumentList(list.WithArguments(remaining));
            }
            else
            {
                // The new arguments with their own separators (", "); the first keeps the old argument's leading trivia, the last its trailing trivia.
                var added = replacement.Arguments;
                added = added.Replace(added[0], added[0].WithLeadingTrivia(argument.GetLeadingTrivia()));
                added = added.Replace(added[added.Count - 1], added[added.Count - 1].WithTrailingTrivia(argument.GetTrailingTrivia()));
                var items = list.Arguments.GetWithSeparators();
                int position = items.IndexOf(argument);
                items = items.RemoveAt(position).InsertRange(position, added.GetWithSeparators());
                var arguments = SyntaxFactory.SeparatedList<AttributeArgumentSyntax>(items);
                newAttribute = attribute.WithArgumentList(list.WithArguments(arguments));
            }
            return document.WithSyntaxRoot(root.ReplaceNode(attribute, newAttribute));
        }
    }
}
