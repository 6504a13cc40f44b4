using System.Collections.Generic;
using System.Linq;
using Flora.Generators.Model;
using Flora.Generators.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;
using static Flora.Generators.Tests.Infrastructure.TestCompiler;

namespace Flora.Generators.Tests;

/// <summary>
/// The interception steps' caching (issue 17), as <see cref="IncrementalTests"/> checks the model steps. An interceptable
/// location carries a checksum of its file's text, so any edit of a file re-parses that file's call sites and re-emits
/// the interceptors of the models they belong to; nothing else moves: the models' steps and files stay cached, and
/// other files' sites and other models' interceptors too.
/// </summary>
public sealed class InterceptorIncrementalTests
{
    private const string ModelFile = Usings + """
        namespace Demo;

        public partial class SmallCnn : Module<Tensor, Tensor>
        {
            [FloraTarget] private readonly Conv2d conv1 = Conv2d(1, 8, 3, padding: 1);
            [FloraTarget] private readonly Linear head = Linear(8, 10);

            public SmallCnn() : base(nameof(SmallCnn)) => RegisterComponents();

            public override Tensor forward(Tensor x) => head.forward(Pool(conv1.forward(x)));

            private static Tensor Pool(Tensor h) => h.mean(new long[] { 2, 3 });
        }
        """;

    private const string OtherModelFile = Usings + """
        namespace Demo;

        public partial class Mlp : Module<Tensor, Tensor>
        {
            [FloraTarget] private readonly Linear fc = Linear(16, 16);
            public Mlp() : base(nameof(Mlp)) => RegisterComponents();
            public override Tensor forward(Tensor x) => fc.forward(x);
        }
        """;

    private static readonly IncrementalStepRunReason[] CachedOrUnchanged = { IncrementalStepRunReason.Cached, IncrementalStepRunReason.Unchanged };

    private static readonly CSharpParseOptions Options = InterceptionCompiler.ParseOptions();

    [Fact]
    public void Running_twice_on_the_same_compilation_caches_every_step()
    {
        var compilation = InterceptionCompiler.Compile(Options, ModelFile);
        var (_, second) = RunTwice(compilation, compilation);
        foreach (string step in AllSteps) AssertCachedOrUnchanged(second, step);
        Assert.All(Outputs(second), o => Assert.Contains(o.Reason, CachedOrUnchanged));
    }

    [Fact]
    public void Editing_another_file_caches_every_step_and_both_outputs()
    {
        var compilation = InterceptionCompiler.Compile(Options, ModelFile, "namespace Demo; public static class Helpers { public static int Value() => 1; }");
        var edited = Edit(compilation, 1, "=> 1;", "=> 2 + 3;");
        var (_, second) = RunTwice(compilation, edited);
        foreach (string step in AllSteps) AssertCachedOrUnchanged(second, step);
        Assert.All(Outputs(second), o => Assert.Contains(o.Reason, CachedOrUnchanged));
    }

    [Fact]
    public void Editing_an_unrelated_method_body_in_the_model_re_emits_only_its_interceptors()
    {
        var compilation = InterceptionCompiler.Compile(Options, ModelFile, OtherModelFile);
        var edited = Edit(compilation, 0, "h.mean(new long[] { 2, 3 })", "h.mean(new long[] { 2, 3 }) * 1");
        var (first, second) = RunTwice(compilation, edited);

        // The model steps and the model files stay cached.
        AssertCachedOrUnchanged(second, FloraStepNames.Targets);
        AssertCachedOrUnchanged(second, FloraStepNames.Models);
        AssertCachedOrUnchanged(second, FloraStepNames.InterceptionEnabled);
        // The edited file's sites have a new checksum: its model's interceptors are re-emitted (one of the four files), the
        // other model's are not.
        var outputs = Outputs(second).Select(o => o.Reason).ToList();
        Assert.Equal(4, outputs.Count);
        Assert.Equal(1, outputs.Count(r => r == IncrementalStepRunReason.Modified));
        Assert.Equal(3, outputs.Count(r => CachedOrUnchanged.Contains(r)));
        var interceptors = second.TrackedSteps[FloraStepNames.Interceptors].SelectMany(s => s.Outputs).ToList();
        Assert.Equal(IncrementalStepRunReason.Modified, interceptors.Single(o => ((InterceptorsSpec)o.Value).DisplayName == "SmallCnn").Reason);
        Assert.Contains(interceptors.Single(o => ((InterceptorsSpec)o.Value).DisplayName == "Mlp").Reason, CachedOrUnchanged);
        Assert.NotEqual(first.GeneratedSources.Single(s => s.HintName == "Demo.SmallCnn.Flora.Interceptors.g.cs").SourceText.ToString(),
                        second.GeneratedSources.Single(s => s.HintName == "Demo.SmallCnn.Flora.Interceptors.g.cs").SourceText.ToString());
    }

    [Fact]
    public void A_new_forward_call_adds_a_site_and_re_emits_the_interceptors()
    {
        var compilation = InterceptionCompiler.Compile(Options, ModelFile);
        var edited = Edit(compilation, 0, "private static Tensor Pool", "public Tensor Features(Tensor x) => conv1.forward(x);\n    private static Tensor Pool");
        var (first, second) = RunTwice(compilation, edited);

        AssertCachedOrUnchanged(second, FloraStepNames.Targets);
        AssertCachedOrUnchanged(second, FloraStepNames.Models);
        Assert.Contains(IncrementalStepRunReason.New, Reasons(second, FloraStepNames.InterceptionSites));
        Assert.Equal(new[] { IncrementalStepRunReason.Modified }, Reasons(second, FloraStepNames.Interceptors).Distinct());
        Assert.Equal(2, Locations(first));
        Assert.Equal(3, Locations(second));
    }

    [Fact]
    public void The_sites_step_carries_names_and_locations_only()
    {
        var result = InterceptionCompiler.CreateDriver(Options, trackSteps: true).RunGenerators(InterceptionCompiler.Compile(Options, ModelFile)).GetRunResult().Results[0];
        var sites = result.TrackedSteps[FloraStepNames.InterceptionSites].SelectMany(s => s.Outputs).Select(o => (InterceptionSite)o.Value).ToList();
        Assert.Equal(new[] { "head", "conv1" }, sites.Select(s => s.MemberName));
        Assert.All(sites, s => Assert.Equal("Demo.SmallCnn", s.TypeKey));
        Assert.All(sites, s => Assert.Equal(1, s.Version));
        Assert.Equal(new[] { "global::TorchSharp.Modules.Linear", "global::TorchSharp.Modules.Conv2d" }, sites.Select(s => s.ReceiverType));
    }

    private static readonly string[] AllSteps =
    {
        FloraStepNames.Targets, FloraStepNames.Models, FloraStepNames.InterceptionEnabled, FloraStepNames.InterceptionSites, FloraStepNames.Interceptors,
    };

    private static int Locations(GeneratorRunResult result) =>
        result.GeneratedSources.Single(s => s.HintName.EndsWith(".Flora.Interceptors.g.cs")).SourceText.ToString().Split("InterceptsLocation(1,").Length - 1;

    private static (GeneratorRunResult First, GeneratorRunResult Second) RunTwice(Compilation first, Compilation second)
    {
        var driver = InterceptionCompiler.CreateDriver(Options, trackSteps: true).RunGenerators(first);
        var firstResult = driver.GetRunResult().Results[0];
        Assert.Null(firstResult.Exception);
        driver = driver.RunGenerators(second);
        var secondResult = driver.GetRunResult().Results[0];
        Assert.Null(secondResult.Exception);
        return (firstResult, secondResult);
    }

    private static Compilation Edit(CSharpCompilation compilation, int file, string find, string replace)
    {
        var tree = compilation.SyntaxTrees.ElementAt(file);
        string text = tree.GetText().ToString();
        Assert.Contains(find, text);
        return compilation.ReplaceSyntaxTree(tree, InterceptionCompiler.Parse(text.Replace(find, replace), tree.FilePath, Options));
    }

    private static IEnumerable<IncrementalStepRunReason> Reasons(GeneratorRunResult result, string step) =>
        result.TrackedSteps[step].SelectMany(s => s.Outputs).Select(o => o.Reason);

    private static IEnumerable<(object Value, IncrementalStepRunReason Reason)> Outputs(GeneratorRunResult result) =>
        result.TrackedOutputSteps[WellKnownGeneratorOutputs.SourceOutput].SelectMany(s => s.Outputs);

    private static void AssertCachedOrUnchanged(GeneratorRunResult result, string step)
    {
        Assert.True(result.TrackedSteps.ContainsKey(step), $"No tracked step '{step}'.");
        var reasons = Reasons(result, step).ToList();
        Assert.NotEmpty(reasons);
        Assert.True(reasons.All(CachedOrUnchanged.Contains), $"{step}: {string.Join(", ", reasons)}");
    }
}
