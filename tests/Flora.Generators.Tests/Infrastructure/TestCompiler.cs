using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace Flora.Generators.Tests.Infrastructure;

/// <summary>
/// Builds in-memory compilations the way a user's net10.0 build does (reference assemblies, nullable on, documentation
/// diagnosed) and runs <see cref="FloraGenerator"/> on them. One set of metadata references is shared by every test.
/// </summary>
internal static class TestCompiler
{
    /// <summary>What a model file usually starts with (the usings of README's example).</summary>
    public const string Usings = """
        using Flora;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;
        using static TorchSharp.torch.nn;

        """;

    /// <summary>
    /// The latest language version and full documentation diagnostics: a user building with
    /// <c>GenerateDocumentationFile</c> and warnings as errors must not get a warning from a generated doc comment.
    /// </summary>
    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest, DocumentationMode.Diagnose);

    /// <summary>
    /// A library with nullable reference types on. CS1591 (missing XML comment on the test's own public types) and the SDK's
    /// default NoWarn (CS1701/CS1702, assembly unification) are off, as they are in a user's project.
    /// </summary>
    public static readonly CSharpCompilationOptions CompilationOptions =
        new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable)
            .WithSpecificDiagnosticOptions(new Dictionary<string, ReportDiagnostic>
            {
                ["CS1591"] = ReportDiagnostic.Suppress,
                ["CS1701"] = ReportDiagnostic.Suppress,
                ["CS1702"] = ReportDiagnostic.Suppress,
            });

    private static readonly Lazy<ImmutableArray<MetadataReference>> s_references = new(() =>
        Basic.Reference.Assemblies.Net100.References.All
            .Cast<MetadataReference>()
            .Append(MetadataReference.CreateFromFile(typeof(TorchSharp.torch).Assembly.Location))
            .Append(MetadataReference.CreateFromFile(typeof(FloraModelAttribute).Assembly.Location))
            .ToImmutableArray());

    /// <summary>The net10.0 reference assemblies, TorchSharp.dll and Flora.dll.</summary>
    public static ImmutableArray<MetadataReference> References => s_references.Value;

    /// <summary>A compilation of <paramref name="sources"/>, each its own file (<c>File0.cs</c>, <c>File1.cs</c> …).</summary>
    public static CSharpCompilation Compile(params string[] sources) =>
        CSharpCompilation.Create(
            "Flora.Generators.TestInput",
            sources.Select((source, i) => Parse(source, $"File{i}.cs")),
            References,
            CompilationOptions);

    public static SyntaxTree Parse(string source, string path) => CSharpSyntaxTree.ParseText(source, ParseOptions, path, Encoding.UTF8);

    /// <summary>A driver for one fresh generator, optionally tracking its steps.</summary>
    public static GeneratorDriver CreateDriver(bool trackSteps = false) =>
        CSharpGeneratorDriver.Create(
            new[] { new FloraGenerator().AsSourceGenerator() },
            parseOptions: ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: trackSteps));

    /// <summary>Runs the generator once on <paramref name="sources"/>.</summary>
    public static GeneratorRun Run(params string[] sources) => Run(Compile(sources));

    /// <summary>Runs the generator once on <paramref name="input"/>.</summary>
    public static GeneratorRun Run(CSharpCompilation input)
    {
        var driver = CreateDriver().RunGeneratorsAndUpdateCompilation(input, out var output, out var driverDiagnostics);
        return new GeneratorRun(input, output, driver.GetRunResult(), driverDiagnostics);
    }

    /// <summary>Diagnostics, one a line, with their file, position and the line of source they point at.</summary>
    public static string Format(IEnumerable<Diagnostic> diagnostics)
    {
        var text = new StringBuilder();
        foreach (var diagnostic in diagnostics)
        {
            text.Append(diagnostic.ToString());
            if (diagnostic.Location.IsInSource)
            {
                var span = diagnostic.Location.GetLineSpan();
                var lines = diagnostic.Location.SourceTree!.GetText().Lines;
                if (span.StartLinePosition.Line < lines.Count)
                    text.Append("\n        | ").Append(lines[span.StartLinePosition.Line].ToString().Trim());
            }
            text.Append('\n');
        }
        return text.ToString();
    }
}

/// <summary>One generator run: its input, its output compilation and what the driver reported.</summary>
internal sealed class GeneratorRun
{
    public GeneratorRun(CSharpCompilation input, Compilation output, GeneratorDriverRunResult result, ImmutableArray<Diagnostic> driverDiagnostics)
    {
        Input = input;
        Output = output;
        Result = result;
        DriverDiagnostics = driverDiagnostics;
    }

    public CSharpCompilation Input { get; }
    public Compilation Output { get; }
    public GeneratorDriverRunResult Result { get; }

    /// <summary>What the driver itself reported (CS8785 when the generator threw).</summary>
    public ImmutableArray<Diagnostic> DriverDiagnostics { get; }

    public GeneratorRunResult Generator => Assert.Single(Result.Results);

    public ImmutableArray<GeneratedSourceResult> Sources => Generator.GeneratedSources;

    /// <summary>The one generated file's text, line endings normalised.</summary>
    public string SingleSource()
    {
        Assert.True(Sources.Length == 1, $"Expected one generated file, got {Sources.Length}: {string.Join(", ", Sources.Select(s => s.HintName))}");
        return Sources[0].SourceText.ToString().Replace("\r\n", "\n");
    }

    /// <summary>The generated text of the file named <paramref name="hintName"/>.</summary>
    public string Source(string hintName)
    {
        var source = Sources.FirstOrDefault(s => s.HintName == hintName);
        Assert.True(source.SourceText is not null, $"No generated file '{hintName}'. Generated: {string.Join(", ", Sources.Select(s => s.HintName))}");
        return source.SourceText!.ToString().Replace("\r\n", "\n");
    }

    public IEnumerable<Diagnostic> InputErrors => Input.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error);

    public IEnumerable<Diagnostic> OutputErrors => Output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error);

    /// <summary>Errors and warnings of the output compilation (user code and generated code).</summary>
    public IEnumerable<Diagnostic> OutputProblems =>
        Output.GetDiagnostics().Where(d => d.Severity is DiagnosticSeverity.Error or DiagnosticSeverity.Warning || d.IsWarningAsError);

    /// <summary>Diagnostics of the output compilation located in generated files.</summary>
    public IEnumerable<Diagnostic> GeneratedCodeProblems
    {
        get
        {
            var generated = Sources.Select(s => s.SyntaxTree).ToHashSet();
            return OutputProblems.Where(d => d.Location.SourceTree is { } tree && generated.Contains(tree));
        }
    }

    /// <summary>The generator neither threw (CS8785, <see cref="GeneratorRunResult.Exception"/>) nor reported anything.</summary>
    public void AssertGeneratorDidNotFail()
    {
        Assert.True(Generator.Exception is null, "The generator threw: " + Generator.Exception);
        var failures = DriverDiagnostics.Concat(Generator.Diagnostics).Where(d => d.Id == "CS8785" || d.Severity >= DiagnosticSeverity.Warning).ToList();
        Assert.True(failures.Count == 0, "The generator failed:\n" + TestCompiler.Format(failures));
    }

    /// <summary>The generator ran cleanly and the output compiles without a single error or warning.</summary>
    public void AssertCompilesCleanly()
    {
        AssertGeneratorDidNotFail();
        var problems = OutputProblems.ToList();
        Assert.True(problems.Count == 0, "The output compilation has diagnostics:\n" + TestCompiler.Format(problems) + "\nGenerated:\n" + AllSources());
    }

    /// <summary>The generator ran cleanly and every error of the output is one the input already had (none from generated code).</summary>
    public void AssertOnlyUserErrors()
    {
        AssertGeneratorDidNotFail();
        var inputErrors = InputErrors.Select(Key).ToHashSet();
        var added = OutputErrors.Where(d => !inputErrors.Contains(Key(d))).ToList();
        Assert.True(added.Count == 0, "The generated code added errors:\n" + TestCompiler.Format(added) + "\nGenerated:\n" + AllSources());
        var inGenerated = GeneratedCodeProblems.ToList();
        Assert.True(inGenerated.Count == 0, "Diagnostics in generated code:\n" + TestCompiler.Format(inGenerated));
    }

    public string AllSources() => string.Join("\n", Sources.Select(s => "// ---- " + s.HintName + "\n" + s.SourceText));

    private static string Key(Diagnostic d) => d.Id + "@" + d.Location.SourceTree?.FilePath + ":" + d.Location.SourceSpan;
}
