using System.Collections.Generic;
using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Flora.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Flora.Analyzers.CodeFixes
{
    /// <summary>
    /// FLORA001: adds <c>partial</c> to the Flora model and to every type that contains it, on each of their declarations
    /// (in every document), as the last modifier (<c>public static partial class</c>), keeping the declaration's trivia.
    /// </summary>
    [ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(AddPartialCodeFix)), Shared]
    public sealed class AddPartialCodeFix : CodeFixProvider
    {
        private const string EquivalenceKey = nameof(AddPartialCodeFix);

        /// <inheritdoc />
        public override ImmutableArray<string> FixableDiagnosticIds => ImmutableArray.Create(FloraDiagnosticIds.NotPartial);

        /// <inheritdoc />
        public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

        /// <inheritdoc />
        public override async Task RegisterCodeFixesAsync(CodeFixContext context)
        {
            var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
            if (root is null) return;
            foreach (var diagnostic in context.Diagnostics)
            {
                if (root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true).FirstAncestorOrSelf<TypeDeclarationSyntax>() is not { } declaration
                    || declaration.Identifier.Span != diagnostic.Location.SourceSpan)
                    continue;
                context.RegisterCodeFix(
                    CodeAction.Create(
                        $"Make '{declaration.Identifier.ValueText}' partial",
                        cancellationToken => AddPartialAsync(context.Document, declaration, cancellationToken),
                        EquivalenceKey),
                    diagnostic);
            }
        }

        private static async Task<Solution> AddPartialAsync(Document document, TypeDeclarationSyntax declaration, CancellationToken cancellationToken)
        {
            var solution = document.Project.Solution;
            var semanticModel = await document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false);
            if (semanticModel?.GetDeclaredSymbol(declaration, cancellationToken) is not INamedTypeSymbol type) return solution;

            // The flagged type, its containing types and, when it contains a model, the nested types down to that model.
            var types = new HashSet<INamedTypeSymbol>(SymbolEqualityComparer.Default);
            for (INamedTypeSymbol? t = type; t is not null; t = t.ContainingType) types.Add(t);
            var symbols = FloraSymbols.Resolve(semanticModel.Compilation);
            if (symbols is not null) AddNestedModels(type, symbols, types);

            // Every declaration lacking `partial`, grouped by document.
            var byTree = types
                .SelectMany(t => t.DeclaringSyntaxReferences)
                .Select(r => r.GetSyntax(cancellationToken))
                .OfType<TypeDeclarationSyntax>()
                .Where(d => !d.Modifiers.Any(SyntaxKind.PartialKeyword))
                .GroupBy(d => d.SyntaxTree);
            foreach (var group in byTree)
            {
                var target = solution.GetDocument(group.Key);
                if (target is null) continue;
                var treeRoot = await group.Key.GetRootAsync(cancellationToken).ConfigureAwait(false);
                // Nested declarations are rewritten inside-out by ReplaceNodes, each from its already rewritten children.
                var newRoot = treeRoot.ReplaceNodes(group, (_, rewritten) => WithPartial(rewritten));
                solution = solution.WithDocumentSyntaxRoot(target.Id, newRoot);
            }
            return solution;
        }

        /// <summary>Adds to <paramref name="types"/> every nested type on the way from <paramref name="type"/> to a Flora model inside it.</summary>
        private static bool AddNestedModels(INamedTypeSymbol type, FloraSymbols symbols, HashSet<INamedTypeSymbol> types)
        {
            bool containsModel = false;
            foreach (var nested in type.GetTypeMembers())
            {
                if (AddNestedModels(nested, symbols, types) | symbols.IsModel(nested))
                {
                    types.Add(nested);
                    containsModel = true;
                }
            }
            return containsModel;
        }

        /// <summary>
        /// <c>partial</c> as the last modifier, right before <c>class</c>/<c>struct</c>/<c>record</c>/<c>interface</c>, as
        /// C# requires. Without modifiers it takes over the keyword's leading trivia (indentation, comments).
        /// </summary>
        internal static TypeDeclarationSyntax WithPartial(SyntaxNode node)
        {
            var declaration = (TypeDeclarationSyntax)node;
            if (declaration.Modifiers.Any(SyntaxKind.PartialKeyword)) return declaration;
            var partial = SyntaxFactory.Token(SyntaxKind.PartialKeyword).WithTrailingTrivia(SyntaxFactory.Space);
            if (declaration.Modifiers.Count == 0)
            {
                var keyword = declaration.Keyword;
                return declaration
                    .WithKeyword(keyword.WithLeadingTrivia(SyntaxTriviaList.Empty))
                    .WithModifiers(SyntaxFactory.TokenList(partial.WithLeadingTrivia(keyword.LeadingTrivia)));
            }
            return declaration.WithModifiers(declaration.Modifiers.Add(partial));
        }
    }
}
