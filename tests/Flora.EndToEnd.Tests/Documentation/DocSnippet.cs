using System.IO;
using System.Text.RegularExpressions;

namespace Flora.EndToEnd.Tests.Documentation;

/// <summary>How a documentation block is compiled (see <see cref="DocSnippet"/>).</summary>
internal enum SnippetKind
{
    /// <summary>A whole file of a console program, as pasted into Program.cs (the default).</summary>
    Program,

    /// <summary>Type declarations, compiled after the usings of README's first example.</summary>
    Types,

    /// <summary>Members of a model class, compiled inside <c>public partial class SnippetModel : Module&lt;Tensor, Tensor&gt;</c>.</summary>
    Members,

    /// <summary>Not compiled; the marker says why.</summary>
    Skip,
}

/// <summary>
/// One <c>```csharp</c> block of README.md or docs/*.md, with what the HTML comment right above it says about it.
/// <para>
/// The convention: a block is a whole file of a console program (usings, top-level statements, then types) and must
/// compile as pasted into a project that references Flora and a TorchSharp backend — the SDK's implicit usings, nullable
/// on, no error and no warning. A block that is deliberately something else says so in an HTML comment on the line
/// before its fence (invisible when the Markdown is rendered), with clauses separated by <c>;</c>:
/// </para>
/// <list type="bullet">
/// <item><c>&lt;!-- snippet: members --&gt;</c>: members of a model class; compiled inside
/// <c>public partial class SnippetModel : Module&lt;Tensor, Tensor&gt;</c> with the usings of README's first example, a
/// constructor, and a <c>forward</c> unless the block declares one.</item>
/// <item><c>&lt;!-- snippet: types --&gt;</c>: type declarations without usings; compiled after those usings.</item>
/// <item><c>&lt;!-- snippet: expect FLORA003 FLORA003 --&gt;</c>: the block must report exactly these diagnostics (warnings
/// and errors, with repeats, the analyzers' included), all inside the block, and nothing else.</item>
/// <item><c>&lt;!-- snippet: skip REASON --&gt;</c>: not compiled (a reason is required).</item>
/// </list>
/// </summary>
internal sealed record DocSnippet(string File, int Line, SnippetKind Kind, IReadOnlyList<string> Expected, string Code, string? Marker)
{
    /// <summary>The files whose C# blocks are compiled: README.md and every docs/*.md, relative to the repository root.</summary>
    public static IReadOnlyList<string> Files(string root) =>
        new[] { "README.md" }
            .Concat(Directory.GetFiles(Path.Combine(root, "docs"), "*.md").Select(f => "docs/" + Path.GetFileName(f)).Order(StringComparer.Ordinal))
            .ToList();

    private static readonly Regex Fence = new(@"^\s*(```+|~~~+)\s*([^\s`]*)", RegexOptions.Compiled);
    private static readonly Regex MarkerLine = new(@"^\s*<!--\s*snippet:(?<body>.*?)-->\s*$", RegexOptions.Compiled);
    private static readonly Regex DiagnosticId = new(@"^[A-Z]+[0-9]+$", RegexOptions.Compiled);

    /// <summary>Whether a fence's info string marks C#.</summary>
    public static bool IsCSharp(string info) => info.ToLowerInvariant() is "csharp" or "cs" or "c#";

    /// <summary>
    /// Every C# block of <paramref name="file"/> (Line: the 1-based line of its first code line), and every problem with
    /// its markers: a marker not followed by a C# block, an unknown clause, a skip without a reason, two kinds.
    /// </summary>
    public static (IReadOnlyList<DocSnippet> Snippets, IReadOnlyList<string> Problems) Read(string root, string file)
    {
        var lines = System.IO.File.ReadAllLines(Path.Combine(root, file));
        var snippets = new List<DocSnippet>();
        var problems = new List<string>();
        (int Line, string Body)? pending = null;
        for (int i = 0; i < lines.Length; i++)
        {
            var marker = MarkerLine.Match(lines[i]);
            if (marker.Success)
            {
                if (pending is { } orphan) problems.Add($"{file}:{orphan.Line}: a snippet marker must be followed by a ```csharp block");
                pending = (i + 1, marker.Groups["body"].Value.Trim());
                continue;
            }
            var fence = Fence.Match(lines[i]);
            if (!fence.Success)
            {
                if (pending is { } orphan && lines[i].Trim().Length > 0)
                {
                    problems.Add($"{file}:{orphan.Line}: a snippet marker must be followed by a ```csharp block");
                    pending = null;
                }
                continue;
            }
            string close = fence.Groups[1].Value;
            int start = i + 1, end = start;
            while (end < lines.Length && !lines[end].TrimStart().StartsWith(close, StringComparison.Ordinal)) end++;
            if (IsCSharp(fence.Groups[2].Value))
            {
                string code = string.Join("\n", lines[start..Math.Min(end, lines.Length)]);
                var (kind, expected, problem) = Parse(pending?.Body);
                if (problem is not null) problems.Add($"{file}:{pending!.Value.Line}: {problem}");
                snippets.Add(new DocSnippet(file, start + 1, kind, expected, code, pending?.Body));
            }
            else if (pending is { } orphan)
            {
                problems.Add($"{file}:{orphan.Line}: a snippet marker must be followed by a ```csharp block");
            }
            pending = null;
            i = end;
        }
        if (pending is { } last) problems.Add($"{file}:{last.Line}: a snippet marker must be followed by a ```csharp block");
        return (snippets, problems);
    }

    private static (SnippetKind Kind, IReadOnlyList<string> Expected, string? Problem) Parse(string? body)
    {
        var kind = SnippetKind.Program;
        var expected = new List<string>();
        if (body is null) return (kind, expected, null);
        bool kindSet = false;
        foreach (string clause in body.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string[] words = clause.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            SnippetKind? clauseKind = words[0] switch
            {
                "program" => SnippetKind.Program,
                "types" => SnippetKind.Types,
                "members" => SnippetKind.Members,
                "skip" => SnippetKind.Skip,
                _ => null,
            };
            if (clauseKind is { } k)
            {
                if (kindSet) return (kind, expected, $"two kinds in one marker: '{body}'");
                if (k == SnippetKind.Skip && words.Length < 2) return (kind, expected, "'skip' needs a reason: <!-- snippet: skip why it cannot compile -->");
                if (k != SnippetKind.Skip && words.Length > 1) return (kind, expected, $"'{words[0]}' takes nothing after it: '{clause}'");
                kind = k;
                kindSet = true;
            }
            else if (words[0] == "expect")
            {
                var ids = words.Skip(1).ToList();
                if (ids.Count == 0 || ids.Any(id => !DiagnosticId.IsMatch(id))) return (kind, expected, $"'expect' takes diagnostic ids such as FLORA003: '{clause}'");
                expected.AddRange(ids);
            }
            else
            {
                return (kind, expected, $"unknown clause '{words[0]}' (program, types, members, expect IDs, skip REASON): '{body}'");
            }
        }
        return (kind, expected, null);
    }

    /// <summary>For test names: file and line.</summary>
    public override string ToString() => $"{File}:{Line}";
}
