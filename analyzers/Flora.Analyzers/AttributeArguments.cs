using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Flora.Analyzers
{
    /// <summary>Where an attribute's named argument is written, so that a diagnostic marks exactly <c>Rank = 64</c>.</summary>
    internal static class AttributeArguments
    {
        public static Location Of(AttributeData attribute, string name, CancellationToken cancellationToken)
        {
            var syntax = attribute.ApplicationSyntaxReference?.GetSyntax(cancellationToken) as AttributeSyntax;
            var argument = syntax?.ArgumentList?.Arguments.FirstOrDefault(a => a.NameEquals?.Name.Identifier.ValueText == name);
            return argument?.GetLocation() ?? syntax?.GetLocation() ?? Location.None;
        }
    }
}
