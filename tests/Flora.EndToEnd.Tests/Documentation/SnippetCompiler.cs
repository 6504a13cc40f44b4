using System.Collections.Immutable;
using System.IO;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using Flora.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Flora.EndToEnd.Tests.Documentation;

/// <summary>
/// Compiles a <see cref="DocSnippet"/> as a user's project would: net10.0 reference assemblies, TorchSharp, TorchVision and
/// Flora; the SDK's implicit usings; nullable on; interceptors enabled as the package's buildTransitive/Flora.targets
/// enables them; the Flora source generator and every Flora analyzer. <c>#line</c> directives map each diagnostic back to
/// the Markdown file and line.
/// </summary>
internal static class SnippetCompiler
{
    /// <summary>The usings of README's first example, which <c>types</c> and <c>members</c> blocks get.</summary>
    private const string ModelUsings = """
        using Flora;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;
        using static TorchSharp.torch.nn;

        """;

    /// <summary>What <c>&lt;ImplicitUsings&gt;enable&lt;/ImplicitUsings&gt;</c> gives a console project (Microsoft.NET.Sdk).</summary>
    private const string ImplicitUsings = """
        global using global::System;
        global using global::System.Collections.Generic;
        global using global::System.IO;
        global using global::System.Linq;
        global using global::System.Net.Http;
        global using global::System.Threading;
        global using global::System.Threading.Tasks;
        """;

    private static readonly CSharpParseOptions ParseOptions = new CSharpParseOptions(LanguageVersion.Latest, DocumentationMode.Parse)
        .WithFeatures(new[] { new KeyValuePair<string, string>("InterceptorsNamespaces", "Flora.Generated.Interceptors") });

    private static readonly Lazy<ImmutableArray<MetadataReference>> References = new(() =>
        Basic.Reference.Assemblies.Net100.References.All
            .Cast<MetadataReference>()
            .Append(MetadataReference.CreateFromFile(typeof(TorchSharp.torch).Assembly.Location))
            .Append(MetadataReference.CreateFromFile(typeof(TorchSharp.torchvision).Assembly.Location))
            .Append(MetadataReference.CreateFromFile(typeof(FloraModelAttribute).Assembly.Location))
            .ToImmutableArray());

    private static readonly Lazy<ImmutableArray<DiagnosticAnalyzer>> Analyzers = new(() =>
        typeof(Flora.Analyzers.FloraAnalyzer).Assembly.GetTypes()
            .Where(t => !t.IsAbstract && typeof(DiagnosticAnalyzer).IsAssignableFrom(t) && t.GetCustomAttribute<DiagnosticAnalyzerAttribute>() is not null)
            .Select(t => (DiagnosticAnalyzer)Activator.CreateInstance(t)!)
            .ToImmutableArray());

    private static readonly Regex DeclaresForward = new(@"\boverride\s+Tensor\s+forward\s*\(", RegexOptions.Compiled);

    /// <summary>One reported diagnostic, located in the Markdown file when it falls inside the block.</summary>
    public sealed record Finding(string Id, DiagnosticSeverity Severity, string Path, int Line, string Message, bool InBlock)
    {
        public override string ToString() => $"{Path}:{Line}: {Severity.ToString().ToLowerInvariant()} {Id}: {Message}";
    }

    /// <summary>The source the compiler sees for <paramref name="snippet"/>.</summary>
    public static string Source(DocSnippet snippet)
    {
        string mapped = $"#line {snippet.Line} \"{snippet.File}\"\n{snippet.Code}\n#line default\n";
        return snippet.Kind switch
        {
            SnippetKind.Types => ModelUsings + mapped,
            SnippetKind.Members => ModelUsings
                + "public partial class SnippetModel : Module<Tensor, Tensor>\n{\n"
                + "    public SnippetModel() : base(nameof(SnippetModel)) => RegisterComponents();\n"
                + (DeclaresForward.IsMatch(snippet.Code) ? "" : "    public override Tensor forward(Tensor x) => x;\n")
                + mapped
                + "}\n",
            _ => mapped,
        };
    }

    /// <summary>Every warning and error of the snippet's compilation, the generator's output and the analyzers included.</summary>
    public static IReadOnlyList<Finding> Compile(DocSnippet snippet)
    {
        string path = $"{snippet.File}@{snippet.Line}.cs";
        var tree = CSharpSyntaxTree.ParseText(Source(snippet), ParseOptions, path, Encoding.UTF8);
        var globalUsings = CSharpSyntaxTree.ParseText(ImplicitUsings, ParseOptions, "GlobalUsings.g.cs", Encoding.UTF8);
        bool topLevel = tree.GetRoot().DescendantNodes().OfType<GlobalStatementSyntax>().Any();
        var options = new CSharpCompilationOptions(
                topLevel ? OutputKind.ConsoleApplication : OutputKind.DynamicallyLinkedLibrary,
                nullableContextOptions: NullableContextOptions.Enable,
                warningLevel: 9999)
            .WithSpecificDiagnosticOptions(new Dictionary<string, ReportDiagnostic>
            {
                // The SDK's default NoWarn (assembly unification).
                ["CS1701"] = ReportDiagnostic.Suppress,
                ["CS1702"] = ReportDiagnostic.Suppress,
            });
        var input = CSharpCompilation.Create("Snippet", new[] { globalUsings, tree }, References.Value, options);
        var driver = CSharpGeneratorDriver.Create(new[] { new FloraGenerator().AsSourceGenerator() }, parseOptions: ParseOptions);
        driver.RunGeneratorsAndUpdateCompilation(input, out var output, out var generatorDiagnostics);
        var all = generatorDiagnostics
            .Concat(output.WithAnalyzers(Analyzers.Value).GetAllDiagnosticsAsync().GetAwaiter().GetResult())
            .Where(d => !d.IsSuppressed && (d.Severity >= DiagnosticSeverity.Warning || d.IsWarningAsError));
        return all.Select(d => ToFinding(d, snippet)).OrderBy(f => f.Line).ThenBy(f => f.Id, StringComparer.Ordinal).ToList();
    }

    private static Finding ToFinding(Diagnostic diagnostic, DocSnippet snippet)
    {
        string message = diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture);
        if (!diagnostic.Location.IsInSource) return new Finding(diagnostic.Id, diagnostic.Severity, snippet.File, snippet.Line, message, false);
        var span = diagnostic.Location.GetMappedLineSpan();
        bool inBlock = span.Path == snippet.File;
        string where = inBlock ? snippet.File : $"{snippet.File}:{snippet.Line} ({Path.GetFileName(span.Path)}, the wrapper or generated code)";
        return new Finding(diagnostic.Id, diagnostic.Severity, where, span.StartLinePosition.Line + 1, message, inBlock);
    }
}
