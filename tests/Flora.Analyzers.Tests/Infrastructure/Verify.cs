using System.Threading;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Flora.Analyzers.Tests.Infrastructure;

/// <summary>
/// Runs one analyzer on a source (prefixed with <see cref="TestReferences.Header"/>) and compares its diagnostics with the
/// <c>{|FLORA00N:...|}</c> markup and the expected results: ids, exact spans, and messages where a result gives one.
/// </summary>
internal static class Verify<TAnalyzer>
    where TAnalyzer : DiagnosticAnalyzer, new()
{
    /// <summary>An expected diagnostic of <paramref name="id"/>, to locate with <c>{|#0:...|}</c> markup and <c>WithLocation(0)</c>.</summary>
    public static DiagnosticResult Diagnostic(string id) => CSharpAnalyzerVerifier<TAnalyzer, DefaultVerifier>.Diagnostic(id);

    /// <summary>Exactly the diagnostics of the markup and of <paramref name="expected"/>, nothing else.</summary>
    public static Task AnalyzerAsync(string source, params DiagnosticResult[] expected)
    {
        var test = new Test { TestCode = TestReferences.Header + source };
        test.ExpectedDiagnostics.AddRange(expected);
        return test.RunAsync(CancellationToken.None);
    }

    /// <summary>
    /// Like <see cref="AnalyzerAsync(string, DiagnosticResult[])"/> with test behaviours: a source with its own
    /// <c>#pragma warning restore</c> skips the library's check that wraps everything in <c>#pragma warning disable</c>.
    /// </summary>
    public static Task AnalyzerAsync(string source, TestBehaviors behaviors, params DiagnosticResult[] expected)
    {
        var test = new Test { TestCode = TestReferences.Header + source, TestBehaviors = behaviors };
        test.ExpectedDiagnostics.AddRange(expected);
        return test.RunAsync(CancellationToken.None);
    }

    /// <summary>
    /// Like <see cref="AnalyzerAsync(string, DiagnosticResult[])"/> with the Flora generator running first, so that the
    /// source can call the members it generates; the generated sources themselves are not compared.
    /// </summary>
    public static Task AnalyzerWithGeneratorAsync(string source, params DiagnosticResult[] expected)
    {
        var test = new GeneratedTest { TestCode = TestReferences.Header + source, TestBehaviors = TestBehaviors.SkipGeneratedSourcesCheck };
        test.ExpectedDiagnostics.AddRange(expected);
        return test.RunAsync(CancellationToken.None);
    }

    internal sealed class Test : CSharpAnalyzerTest<TAnalyzer, DefaultVerifier>
    {
        public Test() => TestSetup.Configure(this);
    }

    private sealed class GeneratedTest : CSharpAnalyzerTest<TAnalyzer, DefaultVerifier>
    {
        public GeneratedTest() => TestSetup.Configure(this);

        protected override IEnumerable<Type> GetSourceGenerators() => new[] { typeof(Flora.Generators.FloraGenerator) };
    }
}

/// <summary>
/// Runs one analyzer and one code fix: the fix (one at a time, and Fix All in document, project and solution) must turn
/// the source into <c>fixedSource</c>, which must then have no diagnostics left.
/// </summary>
internal static class VerifyFix<TAnalyzer, TFix>
    where TAnalyzer : DiagnosticAnalyzer, new()
    where TFix : CodeFixProvider, new()
{
    public static DiagnosticResult Diagnostic(string id) => CSharpCodeFixVerifier<TAnalyzer, TFix, DefaultVerifier>.Diagnostic(id);

    /// <summary>
    /// Verifies the fix. <paramref name="title"/>, when given, is the title every applied code action must have
    /// (one fix per diagnostic, so titles are checked for single-diagnostic sources).
    /// </summary>
    public static Task FixAsync(string source, string fixedSource, string? title = null, params DiagnosticResult[] expected) =>
        FixAsync(source, fixedSource, CodeFixTestBehaviors.None, title, expected);

    /// <summary><see cref="FixAsync(string, string, string?, DiagnosticResult[])"/> with test behaviours.</summary>
    public static Task FixAsync(string source, string fixedSource, CodeFixTestBehaviors behaviors, string? title = null, params DiagnosticResult[] expected) =>
        FixAsync(source, fixedSource, test =>
        {
            test.CodeFixTestBehaviors = behaviors;
            test.ExpectedDiagnostics.AddRange(expected);
            if (title is not null)
                test.CodeActionVerifier = (action, verifier) => verifier.Equal(title, action.Title, "the code action's title");
        });

    /// <summary>The fix, with the test configured further by <paramref name="configure"/> (iterations, behaviours).</summary>
    public static Task FixAsync(string source, string fixedSource, Action<Test> configure)
    {
        var test = new Test
        {
            TestCode = TestReferences.Header + source,
            FixedCode = TestReferences.Header + fixedSource,
        };
        configure(test);
        return test.RunAsync(CancellationToken.None);
    }

    /// <summary>The fix applied to the sources of several files (one per element) at once.</summary>
    public static Task FixAsync(string[] sources, string[] fixedSources, CodeFixTestBehaviors behaviors = CodeFixTestBehaviors.None)
    {
        var test = new Test { CodeFixTestBehaviors = behaviors };
        foreach (var source in sources) test.TestState.Sources.Add(TestReferences.Header + source);
        foreach (var source in fixedSources) test.FixedState.Sources.Add(TestReferences.Header + source);
        return test.RunAsync(CancellationToken.None);
    }

    /// <summary>The titles of the code actions <typeparamref name="TFix"/> offers for the diagnostics of <paramref name="source"/>, in order.</summary>
    public static async Task<IReadOnlyList<string>> TitlesAsync(string source)
    {
        var (document, diagnostics) = await AnalyzeAsync(TestReferences.Header + source);
        var fix = new TFix();
        var titles = new List<string>();
        foreach (var diagnostic in diagnostics.Where(d => fix.FixableDiagnosticIds.Contains(d.Id)))
        {
            var actions = new List<CodeAction>();
            var context = new CodeFixContext(document, diagnostic, (action, _) => actions.Add(action), CancellationToken.None);
            await fix.RegisterCodeFixesAsync(context);
            titles.AddRange(actions.Select(a => a.Title));
        }
        return titles;
    }

    private static async Task<(Document Document, ImmutableArray<Diagnostic> Diagnostics)> AnalyzeAsync(string source)
    {
        using var workspace = new AdhocWorkspace();
        var project = workspace.AddProject("Test", LanguageNames.CSharp)
            .WithCompilationOptions(TestReferences.CompilationOptions)
            .WithParseOptions(TestReferences.ParseOptions)
            .WithMetadataReferences(TestReferences.All);
        var document = project.AddDocument("Test0.cs", source);
        var compilation = (await document.Project.GetCompilationAsync())!;
        var diagnostics = await compilation
            .WithAnalyzers(ImmutableArray.Create<DiagnosticAnalyzer>(new TAnalyzer()))
            .GetAnalyzerDiagnosticsAsync();
        return (document, diagnostics.OrderBy(d => d.Location.SourceSpan.Start).ToImmutableArray());
    }

    internal sealed class Test : CSharpCodeFixTest<TAnalyzer, TFix, DefaultVerifier>
    {
        public Test() => TestSetup.Configure(this);
    }
}

/// <summary>Every Flora analyzer at once: for sources that must raise nothing, or exactly the markup, across all ids.</summary>
internal static class VerifyAll
{
    public static ImmutableArray<DiagnosticAnalyzer> Analyzers { get; } = ImmutableArray.Create<DiagnosticAnalyzer>(
        new PartialTypeAnalyzer(), new TargetTypeAnalyzer(), new RankAnalyzer(), new BudgetAnalyzer(), new ModuleToSaveAnalyzer(), new NormLayerAnalyzer(), new ConstantCountAnalyzer(), new AdapterNameAnalyzer());

    public static Task AnalyzerAsync(string source, params DiagnosticResult[] expected) => AnalyzerAsync(source, TestBehaviors.None, expected);

    public static Task AnalyzerAsync(string source, TestBehaviors behaviors, params DiagnosticResult[] expected)
    {
        var test = new Test { TestCode = TestReferences.Header + source, TestBehaviors = behaviors };
        test.ExpectedDiagnostics.AddRange(expected);
        return test.RunAsync(CancellationToken.None);
    }

    private sealed class Test : CSharpAnalyzerTest<PartialTypeAnalyzer, DefaultVerifier>
    {
        public Test() => TestSetup.Configure(this);

        protected override IEnumerable<DiagnosticAnalyzer> GetDiagnosticAnalyzers() => Analyzers;
    }
}

internal static class TestSetup
{
    /// <summary>The references of <see cref="TestReferences"/>, nullable on, latest C#.</summary>
    public static void Configure<TVerifier>(AnalyzerTest<TVerifier> test)
        where TVerifier : IVerifier, new()
    {
        test.ReferenceAssemblies = TestReferences.ReferenceAssemblies;
        test.TestState.AdditionalReferences.AddRange(TestReferences.All);
        test.SolutionTransforms.Add((solution, projectId) =>
        {
            var project = solution.GetProject(projectId)!;
            var options = (Microsoft.CodeAnalysis.CSharp.CSharpCompilationOptions)project.CompilationOptions!;
            return solution
                .WithProjectCompilationOptions(projectId, options.WithNullableContextOptions(NullableContextOptions.Enable))
                .WithProjectParseOptions(projectId, TestReferences.ParseOptions);
        });
    }
}
