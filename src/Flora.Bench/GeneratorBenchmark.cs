using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using Flora.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Flora.Bench;

/// <summary>
/// <c>Flora.Bench generator</c>: how long the source generator takes on a compilation with many annotated targets —
/// cold (a new driver) and incrementally after a one-line edit of a method body (that file's forward-call interceptors
/// re-emitted: their locations carry the file's checksum) or of one rank (one model re-emitted), as an IDE runs it on
/// every keystroke. Each model calls every target with <c>forward(x)</c>, and interception is on as the package sets it.
/// </summary>
internal static class GeneratorBenchmark
{
    /// <summary>
    /// Times the generator on <paramref name="models"/> model classes of <paramref name="targets"/> targets each (calling
    /// them with <c>forward(x)</c> when <paramref name="forwardCalls"/>), <paramref name="iterations"/> runs per scenario;
    /// prints the table and writes it to <paramref name="markdown"/> when given, quoting <paramref name="commandLine"/>.
    /// </summary>
    public static int Run(int models, int targets, int iterations, bool forwardCalls, string? markdown, string commandLine)
    {
        // InterceptorsNamespaces as the package's build targets pass it to the compiler.
        var parseOptions = CSharpParseOptions.Default.WithFeatures(new[] { new KeyValuePair<string, string>("InterceptorsNamespaces", "Flora.Generated.Interceptors") });
        var trees = Enumerable.Range(0, models).Select(m => CSharpSyntaxTree.ParseText(ModelSource(m, targets, forwardCalls), parseOptions, path: $"Model{m}.cs")).ToList();
        var compilation = CSharpCompilation.Create("Bench", trees, References(), new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        if (errors.Count > 0) throw new InvalidOperationException("the benchmark's source does not compile: " + errors[0]);

        var bodyEdit = Edit(compilation, trees[0], "return x;", "return x * 1;");
        var rankEdit = Edit(compilation, trees[0], "[FloraTarget(Rank = 4)]", "[FloraTarget(Rank = 5)]");
        GeneratorDriver Fresh() => CSharpGeneratorDriver.Create(new[] { new FloraGenerator().AsSourceGenerator() }, parseOptions: parseOptions);
        var warm = Fresh().RunGenerators(compilation);
        int generated = warm.GetRunResult().GeneratedTrees.Length;

        var rows = new List<(string Scenario, double Median, double Min)>
        {
            Time("cold: a new driver", iterations, () => Fresh().RunGenerators(compilation)),
            Time("after a one-line method-body edit", iterations, Alternating(warm, bodyEdit, compilation)),
            Time("after changing one target's Rank", iterations, Alternating(warm, rankEdit, compilation)),
        };
        string table = $"| Scenario ({models * targets} targets{(forwardCalls ? " and forward calls" : "")} in {models} models, {generated} files generated) | median ms | min ms |\n|---|--:|--:|\n"
                       + string.Join("\n", rows.Select(r => $"| {r.Scenario} | {r.Median:F2} | {r.Min:F2} |"));
        Console.WriteLine(table);
        if (markdown is not null)
            File.WriteAllText(markdown, $"- Date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores\n- Command: `{commandLine}`\n\n{table}\n");
        return 0;
    }

    /// <summary>Runs the driver on the edited and the original compilation in turn, so every timed run sees a change.</summary>
    private static Func<GeneratorDriver> Alternating(GeneratorDriver driver, Compilation edited, Compilation original)
    {
        bool toggle = false;
        return () =>
        {
            toggle = !toggle;
            driver = driver.RunGenerators(toggle ? edited : original);
            return driver;
        };
    }

    private static (string, double, double) Time(string scenario, int iterations, Func<GeneratorDriver> run)
    {
        for (int i = 0; i < 5; i++) run();
        var times = new List<double>();
        for (int i = 0; i < iterations; i++)
        {
            var clock = Stopwatch.StartNew();
            run();
            times.Add(clock.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        return (scenario, times[times.Count / 2], times[0]);
    }

    private static Compilation Edit(Compilation compilation, SyntaxTree tree, string find, string replace) =>
        compilation.ReplaceSyntaxTree(tree, tree.WithChangedText(Microsoft.CodeAnalysis.Text.SourceText.From(tree.GetText().ToString().Replace(find, replace))));

    /// <summary>A ConvNeXt-like model with <paramref name="targets"/> annotated layers of every supported kind.</summary>
    private static string ModelSource(int index, int targets, bool forwardCalls)
    {
        var text = new StringBuilder();
        text.AppendLine("using Flora; using TorchSharp.Modules; using static TorchSharp.torch; using static TorchSharp.torch.nn;");
        text.AppendLine("namespace Bench.Models;");
        text.AppendLine($"[FloraModel(Rank = 8, R3 = 2)] public partial class Model{index} : Module<Tensor, Tensor> {{");
        for (int t = 0; t < targets; t++)
        {
            string attribute = t == 0 ? "[FloraTarget(Rank = 4)]" : "[FloraTarget]";
            string layer = (t % 4) switch
            {
                0 => $"Conv2d conv{t} = Conv2d(64, 64, 3, padding: 1)",
                1 => $"Conv2d dw{t} = Conv2d(64, 64, 7, padding: 3, groups: 64)",
                2 => $"Linear pw{t} = Linear(64, 256)",
                _ => $"Linear proj{t} = Linear(256, 64)",
            };
            text.AppendLine($"    {attribute} private readonly {layer};");
        }
        text.AppendLine($"    public Model{index}() : base(\"Model{index}\") => RegisterComponents();");
        text.Append("    public override Tensor forward(Tensor x) { ");
        for (int t = 0; t < targets && forwardCalls; t++) text.Append($"x = {(t % 4) switch { 0 => "conv", 1 => "dw", 2 => "pw", _ => "proj" }}{t}.forward(x); ");
        text.AppendLine("return x; }");
        text.AppendLine("}");
        return text.ToString();
    }

    private static IEnumerable<MetadataReference> References()
    {
        var platform = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator).Where(p => p.EndsWith(".dll", StringComparison.Ordinal));
        return platform.Concat(new[] { typeof(TorchSharp.torch).Assembly.Location, typeof(FloraAttachment).Assembly.Location })
            .Distinct().Select(p => MetadataReference.CreateFromFile(p));
    }
}
