using System.IO;
using System.Text.RegularExpressions;

namespace Flora.EndToEnd.Tests.Documentation;

/// <summary>
/// Every <c>```csharp</c> block of README.md and docs/*.md compiles as documented (the convention is on
/// <see cref="DocSnippet"/>; docs/ARCHITECTURE.md, "Documentation", says it for writers): a block is a whole program
/// unless an HTML comment above it says it is members of a model or type declarations, and it reports exactly the
/// diagnostics it says it does. A failure names the file and line. The links between these files point at files and
/// sections that exist.
/// </summary>
public sealed class DocumentationSnippetTests
{
    private static IEnumerable<DocSnippet> AllSnippets()
    {
        string root = Repository.Root();
        return DocSnippet.Files(root).SelectMany(file => DocSnippet.Read(root, file).Snippets);
    }

    public static TheoryData<string, int> Snippets()
    {
        var data = new TheoryData<string, int>();
        foreach (var snippet in AllSnippets()) data.Add(snippet.File, snippet.Line);
        return data;
    }

    [Theory]
    [MemberData(nameof(Snippets))]
    public void The_csharp_block_compiles_as_documented(string file, int line)
    {
        var snippet = AllSnippets().Single(s => s.File == file && s.Line == line);
        if (snippet.Kind == SnippetKind.Skip) return;
        var findings = SnippetCompiler.Compile(snippet);

        var lines = File.ReadAllLines(Path.Combine(Repository.Root(), file));
        string Report() =>
            $"The C# block at {file}:{line} ({(snippet.Marker is null ? "a whole program" : "<!-- snippet: " + snippet.Marker + " -->")}) "
            + (snippet.Expected.Count == 0 ? "must compile without errors or warnings" : "must report exactly " + string.Join(" ", snippet.Expected))
            + ", but reports:\n"
            + (findings.Count == 0 ? "  nothing\n" : string.Concat(findings.Select(f =>
                "  " + f + "\n" + (f.InBlock && f.Line - 1 < lines.Length ? "      | " + lines[f.Line - 1].Trim() + "\n" : ""))))
            + (snippet.Kind == SnippetKind.Program ? "" : "\nCompiled as:\n" + SnippetCompiler.Source(snippet));

        var reported = findings.Select(f => f.Id).Order(StringComparer.Ordinal).ToList();
        Assert.True(reported.SequenceEqual(snippet.Expected.Order(StringComparer.Ordinal)), Report());
        Assert.True(findings.All(f => f.InBlock), Report());
    }

    [Fact]
    public void Every_file_has_well_formed_markers_and_README_its_examples()
    {
        string root = Repository.Root();
        var problems = DocSnippet.Files(root).SelectMany(file => DocSnippet.Read(root, file).Problems).ToList();
        Assert.True(problems.Count == 0, string.Join("\n", problems));
        var readme = DocSnippet.Read(root, "README.md").Snippets;
        Assert.True(readme.Count(s => s.Kind == SnippetKind.Program) >= 4, "README's examples are whole programs: " + string.Join(", ", readme));
        Assert.Contains(DocSnippet.Files(root), f => f == "docs/DIAGNOSTICS.md");
    }

    [Fact]
    public void A_broken_block_fails_with_its_file_and_line()
    {
        var broken = new DocSnippet("README.md", 42, SnippetKind.Program, Array.Empty<string>(),
            "using Flora;\npublic class Before { }\nConsole.WriteLine(FloraMethod.Lora);", null);
        var finding = Assert.Single(SnippetCompiler.Compile(broken));
        Assert.Equal(("CS8803", "README.md", 44, true), (finding.Id, finding.Path, finding.Line, finding.InBlock));

        var members = new DocSnippet("docs/DIAGNOSTICS.md", 10, SnippetKind.Members, new[] { "FLORA002" },
            "[FloraTarget(Rank = 0)] private readonly Linear fc = Linear(16, 10);", "members; expect FLORA002");
        var flora002 = Assert.Single(SnippetCompiler.Compile(members));
        Assert.Equal(("FLORA002", "docs/DIAGNOSTICS.md", 10), (flora002.Id, flora002.Path, flora002.Line));
    }

    private static readonly Regex Link = new(@"\[[^\]]*\]\((?<target>[^)\s]+)\)", RegexOptions.Compiled);
    private static readonly Regex ReadmeSection = new(@"README(?:'s)?,? ""(?<section>[^""]+)""|README, (?<section>[A-Z][a-z]+)\b", RegexOptions.Compiled);

    /// <summary>GitHub's anchor of a heading: lower case, punctuation but '-' and '_' dropped, spaces as '-'.</summary>
    private static string Anchor(string heading) =>
        Regex.Replace(heading.Trim().ToLowerInvariant(), @"[^\p{L}\p{N}\s_-]", "").Replace(' ', '-');

    private static IReadOnlyList<string> Headings(string path) =>
        File.ReadAllLines(path).Where(l => l.StartsWith('#')).Select(l => l.TrimStart('#').Trim()).ToList();

    [Fact]
    public void Links_and_section_pointers_lead_to_files_and_sections_that_exist()
    {
        string root = Repository.Root();
        var problems = new List<string>();
        var readmeHeadings = Headings(Path.Combine(root, "README.md"));
        foreach (string file in DocSnippet.Files(root))
        {
            string path = Path.Combine(root, file);
            string dir = Path.GetDirectoryName(path)!;
            var lines = File.ReadAllLines(path);
            for (int i = 0; i < lines.Length; i++)
            {
                foreach (Match link in Link.Matches(lines[i]))
                {
                    string target = link.Groups["target"].Value;
                    if (Regex.IsMatch(target, "^[a-z]+:", RegexOptions.IgnoreCase)) continue; // https:, mailto:
                    string[] parts = target.Split('#', 2);
                    string linked = parts[0].Length == 0 ? path : Path.GetFullPath(Path.Combine(dir, parts[0]));
                    if (!File.Exists(linked) && !Directory.Exists(linked))
                    {
                        problems.Add($"{file}:{i + 1}: link to '{target}': no such file");
                        continue;
                    }
                    if (parts.Length == 2 && File.Exists(linked) && !Headings(linked).Select(Anchor).Contains(parts[1]))
                        problems.Add($"{file}:{i + 1}: link to '{target}': no heading with that anchor");
                }
                foreach (Match pointer in ReadmeSection.Matches(lines[i]))
                {
                    string section = pointer.Groups["section"].Value;
                    if (!readmeHeadings.Any(h => h.Equals(section, StringComparison.OrdinalIgnoreCase)))
                        problems.Add($"{file}:{i + 1}: README has no section \"{section}\" (its sections: {string.Join(" | ", readmeHeadings)})");
                }
                if (lines[i].Contains("DESIGN §", StringComparison.Ordinal) || lines[i].Contains("DESIGN.md", StringComparison.Ordinal))
                    problems.Add($"{file}:{i + 1}: points at the design document, which is not part of the repository");
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }
}
