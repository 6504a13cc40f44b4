// Shared by the generator and the analyzers (linked source).
using Microsoft.CodeAnalysis.CSharp;

namespace Flora.Generators
{
    /// <summary>How the generated source names what the user declared.</summary>
    internal static class SourceNames
    {
        /// <summary><c>conv1</c> → <c>Conv1</c>, <c>_head</c> → <c>Head</c>, <c>m_x</c> → <c>M_x</c>.</summary>
        public static string PascalCase(string name)
        {
            string trimmed = name.TrimStart('_');
            if (trimmed.Length == 0) return "Target";
            if (char.IsDigit(trimmed[0])) trimmed = "Target" + trimmed;
            return char.ToUpperInvariant(trimmed[0]) + trimmed.Substring(1);
        }

        /// <summary>An identifier as C# source: keywords get a verbatim <c>@</c>.</summary>
        public static string Escape(string identifier) =>
            SyntaxFacts.GetKeywordKind(identifier) != SyntaxKind.None ? "@" + identifier : identifier;
    }
}
