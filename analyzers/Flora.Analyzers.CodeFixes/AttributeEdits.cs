using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Flora.Analyzers.CodeFixes
{
    /// <summary>Edits of attribute syntax the code fixes share.</summary>
    internal static class AttributeEdits
    {
        /// <summary>
        /// <paramref name="attribute"/> with the arguments of <paramref name="added"/> after its own, separated by <c>", "</c>:
        /// <c>[FloraTarget(Rank = 4)]</c> → <c>[FloraTarget(Rank = 4, LoraRank = 10)]</c>, <c>[FloraModel]</c> →
        /// <c>[FloraModel(SaveNormLayers = true)]</c> (the name's trailing trivia moves behind the new argument list).
        /// </summary>
        public static AttributeSyntax WithAddedArguments(AttributeSyntax attribute, AttributeArgumentListSyntax added)
        {
            // The old arguments and separators as they are, then ", " and the new ones.
            var items = attribute.ArgumentList?.Arguments.GetWithSeparators() ?? default(SyntaxNodeOrTokenList);
            foreach (var argument in added.Arguments)
            {
                if (items.Count > 0) items = items.Add(SyntaxFactory.Token(SyntaxKind.CommaToken).WithTrailingTrivia(SyntaxFactory.Space));
                items = items.Add(argument.WithoutTrivia());
            }
            var arguments = SyntaxFactory.SeparatedList<AttributeArgumentSyntax>(items);
            AttributeArgumentListSyntax list = attribute.ArgumentList is { } existing
                ? existing.WithArguments(arguments)
                : SyntaxFactory.AttributeArgumentList(arguments);
            return attribute.ArgumentList is null
                ? attribute.WithName(attribute.Name.WithoutTrailingTrivia()).WithArgumentList(list.WithTrailingTrivia(attribute.Name.GetTrailingTrivia()))
                : attribute.WithArgumentList(list);
        }
    }
}
