using System.Collections.Generic;
using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Flora.Generators.Tests.Infrastructure;

/// <summary>
/// Compilations as a user's build with the Flora package's targets gives them: the compiler's <c>InterceptorsNamespaces</c>
/// feature listing <c>Flora.Generated.Interceptors</c> (what the SDK passes from the MSBuild property), and the
/// compiler-visible <c>build_property.FloraInterceptForward</c>.
/// </summary>
internal static class InterceptionCompiler
{
    public const string Namespace = "Flora.Generated.Interceptors";

    /// <summary>Parse options with <c>InterceptorsNamespaces=<paramref name="namespaces"/></c> (null: the feature absent).</summary>
    public static CSharpParseOptions ParseOptions(string? namespaces = Namespace) =>
        namespaces is null
            ? TestCompiler.ParseOptions
            : TestCompiler.ParseOptions.WithFeatures(new[] { new KeyValuePair<string, string>("InterceptorsNamespaces", namespaces) });

    public static SyntaxTree Parse(string source, string path, CSharpParseOptions options) => CSharpSyntaxTree.ParseText(source, options, path, Encoding.UTF8);

    public static CSharpCompilation Compile(CSharpParseOptions options, params string[] sources) =>
        CSharpCompilation.Create(
            "Flora.Generators.TestInput",
            sources.Select((source, i) => Parse(source, $"File{i}.cs", options)),
            TestCompiler.References,
            TestCompiler.CompilationOptions);

    /// <summary>A driver whose global analyzer config holds <c>build_property.FloraInterceptForward</c> (null: absent).</summary>
    public static GeneratorDriver CreateDriver(CSharpParseOptions options, string? interceptForward = "true", bool trackSteps = false)
    {
        var properties = new Dictionary<string, string>();
        if (interceptForward is not null) properties["build_property.FloraInterceptForward"] = interceptForward;
        return CSharpGeneratorDriver.Create(
            new[] { new FloraGenerator().AsSourceGenerator() },
            additionalTexts: null,
            parseOptions: options,
            optionsProvider: new GlobalOptionsProvider(properties),
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: trackSteps));
    }

    /// <summary>Runs the generator once with interception set up as the package sets it.</summary>
    public static GeneratorRun Run(string source, string? namespaces = Namespace, string? interceptForward = "true") =>
        Run(Compile(ParseOptions(namespaces), source), namespaces, interceptForward);

    public static GeneratorRun Run(CSharpCompilation input, string? namespaces = Namespace, string? interceptForward = "true")
    {
        var driver = CreateDriver(ParseOptions(namespaces), interceptForward).RunGeneratorsAndUpdateCompilation(input, out var output, out var diagnostics);
        return new GeneratorRun(input, output, driver.GetRunResult(), diagnostics);
    }

    private sealed class GlobalOptionsProvider : AnalyzerConfigOptionsProvider
    {
        private static readonly AnalyzerConfigOptions Empty = new Options(ImmutableDictionary<string, string>.Empty);

        public GlobalOptionsProvider(Dictionary<string, string> global) => GlobalOptions = new Options(global.ToImmutableDictionary());

        public override AnalyzerConfigOptions GlobalOptions { get; }

        public override AnalyzerConfigOptions GetOptions(SyntaxTree tree) => Empty;

        public override AnalyzerConfigOptions GetOptions(AdditionalText textFile) => Empty;
    }

    private sealed class Options : AnalyzerConfigOptions
    {
        private readonly ImmutableDictionary<string, string> _values;

        public Options(ImmutableDictionary<string, string> values) => _values = values;

        public override bool TryGetValue(string key, [NotNullWhen(true)] out string? value) => _values.TryGetValue(key, out value);
    }
}
