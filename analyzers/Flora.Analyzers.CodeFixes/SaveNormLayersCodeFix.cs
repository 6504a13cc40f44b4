using System;
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
using Microsoft.CodeAnalysis.Simplification;

namespace Flora.Analyzers.CodeFixes
{
    /// <summary>
    /// FLORA012: states the model's choice for its norm layers. Two fixes: <c>SaveNormLayers = true</c> (train and save
    /// them) and <c>SaveNormLayers = false</c> (keep them frozen), added to the model's <c>[FloraModel]</c> wherever that
    /// is declared (any partial part, any document), or, for a model with only <c>[FloraTarget]</c> members, as a new
    /// <c>[FloraModel(SaveNormLayers = …)]</c> on the declaration that holds the layer. Each model is changed once, however
    /// many of its layers are reported (Fix All included).
    /// </summary>
    [ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(SaveNormLayersCodeFix)), Shared]
    public sealed class SaveNormLayersCodeFix : CodeFixProvider
    {
        private const string TrainKey = nameof(SaveNormLayersCodeFix) + ".true";
        private const string FreezeKey = nameof(SaveNormLayersCodeFix) + ".false";

        /// <inheritdoc />
        public override ImmutableArray<string> FixableDiagnosticIds => ImmutableArray.Create(FloraDiagnosticIds.UnsavedNormLayer);

        /// <inheritdoc />
        public override FixAllProvider GetFixAllProvider() => FixAll.Instance;

        /// <inheritdoc />
        public override async Task RegisterCodeFixesAsync(CodeFixContext context)
        {
            foreach (var diagnostic in context.Diagnostics)
            {
                var found = await ModelOfAsync(context.Document.Project.Solution, diagnostic, context.CancellationToken).ConfigureAwait(false);
                if (found is null) continue;
                bool hasModelAttribute = found.Value.Attribute is not null;
                foreach (bool value in new[] { true, false })
                {
                    context.RegisterCodeFix(
                        CodeAction.Create(Title(value, hasModelAttribute),
                            cancellationToken => SetAsync(context.Document.Project.Solution, new[] { diagnostic }, value, cancellationToken),
                            value ? TrainKey : FreezeKey),
                        diagnostic);
                }
            }
        }

        private static string Title(bool value, bool hasModelAttribute)
        {
            string setting = FloraArgumentNames.SaveNormLayers + " = " + (value ? "true" : "false");
            string what = value ? " (train and save the norm layers)" : " (keep the norm layers frozen)";
            return (hasModelAttribute ? "Add " + setting + " to [FloraModel]" : "Add [FloraModel(" + setting + ")]") + what;
        }

        /// <summary>The model type of the member a diagnostic marks, its <c>[FloraModel]</c> (or null) and the member's declaration.</summary>
        private static async Task<(INamedTypeSymbol Type, AttributeData? Attribute, SyntaxNode Member)?> ModelOfAsync(Solution solution, Diagnostic diagnostic, CancellationToken cancellationToken)
        {
            if (diagnostic.Location.SourceTree is not { } tree || solution.GetDocument(tree) is not { } document) return null;
            var root = await tree.GetRootAsync(cancellationToken).ConfigureAwait(false);
            var member = root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true)
                .FirstAncestorOrSelf<SyntaxNode>(n => n is VariableDeclaratorSyntax or PropertyDeclarationSyntax);
            var semanticModel = await document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false);
            if (member is null || semanticModel?.GetDeclaredSymbol(member, cancellationToken)?.ContainingType is not { } type) return null;
            var attribute = FloraSymbols.Resolve(semanticModel.Compilation)?.ModelOf(type)?.Data;
            return (type, attribute, member);
        }

        /// <summary>Sets <c>SaveNormLayers = <paramref name="value"/></c> once on the model of every diagnostic's member.</summary>
        private static async Task<Solution> SetAsync(Solution solution, IEnumerable<Diagnostic> diagnostics, bool value, CancellationToken cancellationToken)
        {
            var argument = SyntaxFactory.ParseAttributeArgumentList("(" + FloraArgumentNames.SaveNormLayers + " = " + (value ? "true" : "false") + ")")!;
            var models = new HashSet<INamedTypeSymbol>(SymbolEqualityComparer.Default);
            var edits = new Dictionary<SyntaxTree, Dictionary<SyntaxNode, Func<SyntaxNode, SyntaxNode>>>();
            foreach (var diagnostic in diagnostics)
            {
                var found = await ModelOfAsync(solution, diagnostic, cancellationToken).ConfigureAwait(false);
                if (found is not { } model || !models.Add(model.Type)) continue;
                if (model.Attribute is { } attribute)
                {
                    if (attribute.ApplicationSyntaxReference?.GetSyntax(cancellationToken) is not AttributeSyntax syntax
                        || syntax.ArgumentList?.Arguments.Any(a => a.NameEquals?.Name.Identifier.ValueText == FloraArgumentNames.SaveNormLayers) == true)
                        continue;
                    Edits(edits, syntax.SyntaxTree)[syntax] = node => AttributeEdits.WithAddedArguments((AttributeSyntax)node, argument);
                }
                else if (model.Member.FirstAncestorOrSelf<TypeDeclarationSyntax>() is { } declaration)
                {
                    string lineBreak = LineBreak(declaration.SyntaxTree);
                    Edits(edits, declaration.SyntaxTree)[declaration] = node => WithModelAttribute((TypeDeclarationSyntax)node, argument, lineBreak);
                }
            }
            foreach (var (tree, treeEdits) in edits.Select(e => (e.Key, e.Value)))
            {
                if (solution.GetDocument(tree) is not { } document) continue;
                var root = await tree.GetRootAsync(cancellationToken).ConfigureAwait(false);
                // Nested models are rewritten inside-out, each from its already rewritten children.
                var newRoot = root.ReplaceNodes(treeEdits.Keys, (original, rewritten) => treeEdits[original](rewritten));
                solution = solution.WithDocumentSyntaxRoot(document.Id, newRoot);
            }
            return solution;
        }

        private static Dictionary<SyntaxNode, Func<SyntaxNode, SyntaxNode>> Edits(Dictionary<SyntaxTree, Dictionary<SyntaxNode, Func<SyntaxNode, SyntaxNode>>> edits, SyntaxTree tree)
        {
            if (!edits.TryGetValue(tree, out var treeEdits)) edits[tree] = treeEdits = new Dictionary<SyntaxNode, Func<SyntaxNode, SyntaxNode>>();
            return treeEdits;
        }

        /// <summary>
        /// <c>[FloraModel(SaveNormLayers = …)]</c> on a line of its own before the declaration's other attributes and modifiers,
        /// after its comments and documentation, at its indentation. The name is simplified against the file's usings.
        /// </summary>
        internal static TypeDeclarationSyntax WithModelAttribute(TypeDeclarationSyntax declaration, AttributeArgumentListSyntax arguments, string lineBreak)
        {
            var first = declaration.GetFirstToken();
            var leading = first.LeadingTrivia;
            int lineStart = 0;
            for (int i = 0; i < leading.Count; i++)
            {
                if (leading[i].IsKind(SyntaxKind.EndOfLineTrivia) || leading[i].IsKind(SyntaxKind.SingleLineDocumentationCommentTrivia))
                    lineStart = i + 1;
            }
            var indentation = SyntaxFactory.TriviaList(leading.Skip(lineStart));
            var name = SyntaxFactory.ParseName("global::Flora.FloraModel").WithAdditionalAnnotations(Simplifier.Annotation);
            var list = SyntaxFactory.AttributeList(SyntaxFactory.SingletonSeparatedList(SyntaxFactory.Attribute(name, arguments.WithoutTrivia())))
                .WithLeadingTrivia(leading)
                .WithTrailingTrivia(SyntaxFactory.EndOfLine(lineBreak));
            var moved = declaration.ReplaceToken(first, first.WithLeadingTrivia(indentation));
            return moved.WithAttributeLists(moved.AttributeLists.Insert(0, list));
        }

        /// <summary>The file's line break (the first one in it), else <c>\n</c>.</summary>
        private static string LineBreak(SyntaxTree tree)
        {
            var text = tree.GetText();
            foreach (var line in text.Lines)
            {
                if (line.EndIncludingLineBreak > line.End)
                    return text.ToString(Microsoft.CodeAnalysis.Text.TextSpan.FromBounds(line.End, line.EndIncludingLineBreak));
            }
            return "\n";
        }

        /// <summary>Fix All: every reported model in the scope gets the chosen setting once.</summary>
        private sealed class FixAll : FixAllProvider
        {
            public static readonly FixAll Instance = new();

            public override async Task<CodeAction?> GetFixAsync(FixAllContext fixAllContext)
            {
                if (fixAllContext.CodeActionEquivalenceKey is not (TrainKey or FreezeKey)) return null;
                bool value = fixAllContext.CodeActionEquivalenceKey == TrainKey;
                var diagnostics = new List<Diagnostic>();
                switch (fixAllContext.Scope)
                {
                    case FixAllScope.Document when fixAllContext.Document is { } document:
                        diagnostics.AddRange(await fixAllContext.GetDocumentDiagnosticsAsync(document).ConfigureAwait(false));
                        break;
                    case FixAllScope.Project:
                        diagnostics.AddRange(await fixAllContext.GetAllDiagnosticsAsync(fixAllContext.Project).ConfigureAwait(false));
                        break;
                    case FixAllScope.Solution:
                        foreach (var project in fixAllContext.Solution.Projects)
                            diagnostics.AddRange(await fixAllContext.GetAllDiagnosticsAsync(project).ConfigureAwait(false));
                        break;
                    default:
                        return null;
                }
                string title = "Set SaveNormLayers = " + (value ? "true" : "false") + " on every model";
                return CodeAction.Create(title, cancellationToken => SetAsync(fixAllContext.Solution, diagnostics, value, cancellationToken), fixAllContext.CodeActionEquivalenceKey);
            }
        }
    }
}
