using System.IO;
using System.Reflection;
using System.Text.RegularExpressions;

namespace Flora.Analyzers.Tests;

/// <summary>
/// The descriptor table as users meet it: one descriptor per id, no help link (a URL that may not exist is worse than
/// none), and a description that names the fix and points at the rule's section of docs/DIAGNOSTICS.md, which exists.
/// </summary>
public sealed class DescriptorTests
{
    /// <summary>Every descriptor any Flora analyzer supports, by id.</summary>
    private static readonly IReadOnlyDictionary<string, DiagnosticDescriptor> Descriptors = typeof(FloraAnalyzer).Assembly.GetTypes()
        .Where(t => !t.IsAbstract && typeof(DiagnosticAnalyzer).IsAssignableFrom(t))
        .SelectMany(t => ((DiagnosticAnalyzer)Activator.CreateInstance(t)!).SupportedDiagnostics)
        .GroupBy(d => d.Id)
        .ToDictionary(g => g.Key, g => g.First());

    /// <summary>The ids of <see cref="FloraDiagnosticIds"/>.</summary>
    private static readonly string[] IdConstants = typeof(FloraDiagnosticIds).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.IsLiteral).Select(f => (string)f.GetRawConstantValue()!).ToArray();

    public static TheoryData<string> Ids() => new(IdConstants);

    [Theory]
    [MemberData(nameof(Ids))]
    public void Each_id_has_a_descriptor_without_a_help_link(string id)
    {
        Assert.True(Descriptors.TryGetValue(id, out var descriptor), $"no analyzer supports {id}");
        Assert.Equal("", descriptor.HelpLinkUri);
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void Each_description_names_the_fix_and_the_documented_section(string id)
    {
        string description = Descriptors[id].Description.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains("Fix: ", description);
        Assert.EndsWith($"See {id} in docs/DIAGNOSTICS.md (in the Flora package and the repository).", description);
        Assert.Matches(new Regex("^## " + id + "$", RegexOptions.Multiline), File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "DIAGNOSTICS.md")));
    }

    [Fact]
    public void Every_supported_descriptor_has_an_id_constant()
    {
        Assert.All(Descriptors.Keys, id => Assert.Contains(id, IdConstants));
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Flora.Generated.sln"))) return dir.FullName;
        throw new InvalidOperationException("the repository root (Flora.Generated.sln) is not above " + AppContext.BaseDirectory);
    }
}
