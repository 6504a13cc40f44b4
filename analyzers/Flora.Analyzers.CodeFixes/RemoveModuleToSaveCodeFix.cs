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
    /// FLORA011: removes the <c>[FloraModuleToSave]</c> the diagnostic marks, when that is the obvious fix (the member is
    /// also a target, or holds no module): from its attribute list, or the whole list when nothing is left in it, keeping
    /// the declaration's indentation and comments.
    /// </summary>
    [ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(RemoveModuleToSaveCodeFix)), Shared]
    public sealed class RemoveModuleToSaveCodeFix : CodeFixProvider
    {
        /// <inheritdoc />
        public override ImmutableArray<string> FixableDiagnosticIds => ImmutableArray.Create(FloraDiagnosticIds.InvalidModuleToSave);

        /// <inheritdoc />
        public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

        /// <inheritdoc />
        public override async Task RegisterCodeFixesAsync(CodeFixContext context)
        {
            var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
            if (root is null) return;
            foreach (var diagnostic in context.Diagnostics)
            {
                if (!diagnostic.Properties.ContainsKey(DiagnosticDescriptors.RemoveAttribute)) continue;
                if (root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true).FirstAncestorOrSelf<AttributeSyntax>() is not { } attribute
                    || attribute.Span != diagnostic.Location.SourceSpan
                    || attribute.Parent is not AttributeListSyntax { Parent: MemberDeclarationSyntax })
                    continue;
                context.RegisterCodeFix(
                    CodeAction.Create("Remove [FloraModuleToSave]", cancellationToken => RemoveAsync(context.Document, attribute, cancellationToken),
                        nameof(RemoveModuleToSaveCodeFix)),
                    diagnostic);
            }
        }

        private static async Task<Document> RemoveAsync(Document document, AttributeSyntax attribute, CancellationToken cancellationToken)
        {
            var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
            if (root is null || attribute.Parent is not AttributeListSyntax list || list.Parent is not MemberDeclarationSyntax member) return document;
            if (list.Attributes.Count > 1)
                return document.WithSyntaxRoot(root.ReplaceNode(list, list.WithAttributes(list.Attributes.Remove(attribute))));
            return document.WithSyntaxRoot(root.ReplaceNode(member, WithoutList(member, list)));
        }

        /// <summary>
        /// <paramref name="member"/> without <paramref name="list"/>. The first list's leading trivia (indentation, comments)
        /// moves to what comes next; when the list had a line of its own, its indentation goes with it.
        /// </summary>
        internal static MemberDeclarationSyntax WithoutList(MemberDeclarationSyntax member, AttributeListSyntax list)
        {
            bool first = member.AttributeLists.IndexOf(list) == 0;
            var leading = list.GetLeadingTrivia();
            bool ownLine = list.GetTrailingTrivia().Any(SyntaxKind.EndOfLineTrivia);
            var result = member.WithAttributeLists(member.AttributeLists.Remove(list));
            if (!first) return result;
            if (ownLine)
            {
                int end = leading.Count;
                while (end > 0 && leading[end - 1].IsKind(SyntaxKind.WhitespaceTrivia)) end--;
                leading = SyntaxFactory.TriviaList(leading.Take(end));
            }
            var next = result.GetFirstToken();
            return result.ReplaceToken(next, next.WithLeadingTrivia(leading.AddRange(next.LeadingTrivia)));
        }
    }
}
