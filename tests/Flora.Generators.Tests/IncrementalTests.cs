using System.Collections.Immutable;
using System;
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
/// The pipeline's caching, as dotnet/runtime's LoggerMessageGeneratorIncrementalTests and Mapperly's
/// IncrementalGeneratorRunReasons check it: run, edit, run again with the same driver, and read each tracked step's
/// run reasons. Edits that do not change a model leave every step <c>Cached</c> or <c>Unchanged</c>, so nothing is re-emitted.
/// </summary>
public sealed class IncrementalTests
{
    private const string ModelFile = Usings + """
        namespace Demo;

        [FloraModel(Rank = 8, R3 = 2)]
        public partial class SmallCnn : Module<Tensor, Tensor>
        {
            [FloraTarget(Rank = 16)] private readonly Conv2d conv1 = Conv2d(1, 32, 3, padding: 1);
            [FloraTarget] private readonly Conv2d conv2 = Conv2d(32, 64, 3, padding: 1);
            [FloraTarget(Rank = 4)] private readonly Linear head = Linear(64, 10);

            public SmallCnn() : base(nameof(SmallCnn)) => RegisterComponents();

            public override Tensor forward(Tensor x)
            {
                var h = functional.relu(conv1.call(x));
                return head.call(conv2.call(h).mean(new long[] { 2, 3 }));
            }
        }
        """;

    private const string OtherModelFile = Usings + """
        namespace Demo;

        public partial class Mlp : Module<Tensor, Tensor>
        {
            [FloraTarget] private readonly Linear fc = Linear(16, 16);
            public Mlp() : base(nameof(Mlp)) => RegisterComponents();
            public override Tensor forward(Tensor x) => fc.call(x);
        }
        """;

    private static readonly IncrementalStepRunReason[] CachedOrUnchanged = { IncrementalStepRunReason.Cached, IncrementalStepRunReason.Unchanged };

    [Fact]
    public void Running_twice_on_the_same_compilation_caches_everything()
    {
        var compilation = Compile(ModelFile);
        var (_, second) = RunTwice(compilation, compilation);
        AssertAllCachedOrUnchanged(second);
    }

    [Fact]
    public void Adding_an_unrelated_class_in_another_file_caches_every_step()
    {
        var compilation = Compile(ModelFile);
        var edited = compilation.AddSyntaxTrees(Parse("namespace Demo; public sealed class Unrelated { public int Value => 42; }", "Unrelated.cs"));
        var (_, second) = RunTwice(compilation, edited);
        AssertAllCachedOrUnchanged(second);
    }

    [Fact]
    public void Editing_a_method_body_inside_the_model_caches_every_step()
    {
        var compilation = Compile(ModelFile);
        var edited = Edit(compilation, "var h = functional.relu(conv1.call(x));", "var h = functional.gelu(conv1.call(x)) * 2;");
        var (_, second) = RunTwice(compilation, edited);
        AssertAllCachedOrUnchanged(second);
    }

    [Fact]
    public void Adding_a_comment_and_whitespace_inside_the_model_caches_every_step()
    {
        var compilation = Compile(ModelFile);
        var edited = Edit(compilation, "    [FloraTarget] private readonly Conv2d conv2", "    // the second stage\n\n        [FloraTarget]   private readonly Conv2d conv2");
        var (_, second) = RunTwice(compilation, edited);
        AssertAllCachedOrUnchanged(second);
    }

    [Fact]
    public void Adding_a_member_that_is_not_a_target_caches_every_step()
    {
        var compilation = Compile(ModelFile);
        var edited = Edit(compilation, "public SmallCnn()", "private readonly Linear extra = Linear(3, 3);\n    public int Depth => 2;\n    public SmallCnn()");
        var (_, second) = RunTwice(compilation, edited);
        AssertAllCachedOrUnchanged(second);
    }

    [Fact]
    public void Changing_a_rank_modifies_the_model_and_its_text()
    {
        var compilation = Compile(ModelFile);
        var edited = Edit(compilation, "[FloraTarget(Rank = 4)] private readonly Linear head", "[FloraTarget(Rank = 6)] private readonly Linear head");
        var (first, second) = RunTwice(compilation, edited);

        Assert.Contains(IncrementalStepRunReason.Modified, Reasons(second, FloraStepNames.Models));
        Assert.Equal(new[] { IncrementalStepRunReason.Modified }, second.TrackedOutputSteps[WellKnownGeneratorOutputs.SourceOutput].SelectMany(s => s.Outputs).Select(o => o.Reason).Distinct());

        string before = Assert.Single(first.GeneratedSources).SourceText.ToString();
        string after = Assert.Single(second.GeneratedSources).SourceText.ToString();
        Assert.Contains("new global::Flora.FloraTargetOptions { Rank = 4 }", before);
        Assert.Contains("new global::Flora.FloraTargetOptions { Rank = 6 }", after);
        Assert.NotEqual(ConstCount(before), ConstCount(after));
    }

    [Fact]
    public void Changing_an_AdapterSize_or_an_AdaLoRA_rank_modifies_the_model_and_its_counts()
    {
        var compilation = Compile(ModelFile);
        var sized = Edit(compilation, "[FloraTarget(Rank = 4)] private readonly Linear head", "[FloraTarget(Rank = 4, AdapterSize = 3)] private readonly Linear head");
        var (first, second) = RunTwice(compilation, sized);
        Assert.Contains(IncrementalStepRunReason.Modified, Reasons(second, FloraStepNames.Models));
        string before = Assert.Single(first.GeneratedSources).SourceText.ToString();
        string after = Assert.Single(second.GeneratedSources).SourceText.ToString();
        Assert.Contains("new global::Flora.FloraTargetOptions { Rank = 4, AdapterSize = 3 }", after);
        Assert.Equal(ConstCount(before), ConstCount(after));
        Assert.NotEqual(ConstCount(before, "HoulsbyTrainableParameters"), ConstCount(after, "HoulsbyTrainableParameters"));

        var ranked = Edit(compilation, "[FloraModel(Rank = 8, R3 = 2)]", "[FloraModel(Rank = 8, R3 = 2, AdaLoraInitRank = 2)]");
        var (_, third) = RunTwice(compilation, ranked);
        Assert.Contains(IncrementalStepRunReason.Modified, Reasons(third, FloraStepNames.Models));
        string adaLora = Assert.Single(third.GeneratedSources).SourceText.ToString();
        Assert.Contains("AdaLora = new global::Flora.AdaLoraOptions { InitRank = 2 }", adaLora);
        Assert.NotEqual(ConstCount(before, "AdaLoraTrainableParameters"), ConstCount(adaLora, "AdaLoraTrainableParameters"));
    }

    [Fact]
    public void Changing_a_constant_the_shape_depends_on_modifies_the_model()
    {
        const string source = Usings + """
            public partial class Sized : Module<Tensor, Tensor>
            {
                private const int Width = 16;
                [FloraTarget] private readonly Linear fc = Linear(Width, Width);
                public Sized() : base(nameof(Sized)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.call(x);
            }
            """;
        var compilation = Compile(source);
        var edited = Edit(compilation, "private const int Width = 16;", "private const int Width = 32;");
        var (first, second) = RunTwice(compilation, edited);
        Assert.Contains(IncrementalStepRunReason.Modified, Reasons(second, FloraStepNames.Models));
        Assert.Equal("320", ConstCount(Assert.Single(first.GeneratedSources).SourceText.ToString()));
        Assert.Equal("576", ConstCount(Assert.Single(second.GeneratedSources).SourceText.ToString()));
    }

    [Fact]
    public void Changing_a_constant_in_another_file_updates_the_count()
    {
        // The shape reads a constant declared elsewhere: the model's spec must follow it even though its own file is unchanged.
        var compilation = Compile(
            Usings + """
            public partial class Sized : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Linear fc = Linear(Sizes.Width, Sizes.Width);
                public Sized() : base(nameof(Sized)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.call(x);
            }
            """,
            "public static class Sizes { public const int Width = 16; }");
        var sizes = compilation.SyntaxTrees.Last();
        var edited = compilation.ReplaceSyntaxTree(sizes, Parse("public static class Sizes { public const int Width = 32; }", sizes.FilePath));
        var (_, second) = RunTwice(compilation, edited);
        Assert.Equal("576", ConstCount(Assert.Single(second.GeneratedSources).SourceText.ToString()));
    }

    [Fact]
    public void Changing_a_nested_model_in_another_file_updates_the_outer_model_s_count()
    {
        // Outer's count adds Inner's fc at Outer's Rank 8: Linear(16, 16) 64 + 128 + 128 = 320; head Linear(16, 4)
        // at ranks (4, 8): 32 + 16 + 128 = 176. Inner's fc as Linear(16, 8): 64 + 64 + 128 = 256.
        var compilation = Compile(
            Usings + """
            [FloraModel]
            public partial class Outer : Module<Tensor, Tensor>
            {
                private readonly Inner inner = new Inner();
                [FloraTarget] private readonly Linear head = Linear(16, 4);
                public Outer() : base(nameof(Outer)) => RegisterComponents();
                public override Tensor forward(Tensor x) => head.call(x);
            }
            """,
            Usings + """
            public partial class Inner : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Linear fc = Linear(16, 16);
                public Inner() : base(nameof(Inner)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.call(x);
            }
            """);
        var inner = compilation.SyntaxTrees.Last();
        var edited = compilation.ReplaceSyntaxTree(inner, Parse(inner.GetText().ToString().Replace("Linear(16, 16)", "Linear(16, 8)"), inner.FilePath));
        var (first, second) = RunTwice(compilation, edited);
        string Outer(GeneratorRunResult run) => run.GeneratedSources.Single(s => s.HintName == "Outer.Flora.g.cs").SourceText.ToString();
        Assert.Equal("496", ConstCount(Outer(first)));
        Assert.Equal("432", ConstCount(Outer(second)));
        var models = second.TrackedSteps[FloraStepNames.Models].SelectMany(s => s.Outputs).ToList();
        Assert.All(models, output => Assert.Equal(IncrementalStepRunReason.Modified, output.Reason));
    }

    [Fact]
    public void Changing_one_model_leaves_the_other_models_output_cached()
    {
        var compilation = Compile(ModelFile, OtherModelFile);
        var edited = Edit(compilation, "[FloraTarget(Rank = 4)] private readonly Linear head", "[FloraTarget(Rank = 2)] private readonly Linear head");
        var (_, second) = RunTwice(compilation, edited);

        var models = second.TrackedSteps[FloraStepNames.Models].SelectMany(s => s.Outputs).ToList();
        Assert.Equal(2, models.Count);
        Assert.Equal(IncrementalStepRunReason.Modified, models.Single(o => ((ModelSpec)o.Value).Header.DisplayName == "SmallCnn").Reason);
        Assert.Contains(models.Single(o => ((ModelSpec)o.Value).Header.DisplayName == "Mlp").Reason, CachedOrUnchanged);

        var outputs = second.TrackedOutputSteps[WellKnownGeneratorOutputs.SourceOutput].SelectMany(s => s.Outputs).Select(o => o.Reason).ToList();
        Assert.Equal(1, outputs.Count(r => r == IncrementalStepRunReason.Modified));
        Assert.Equal(1, outputs.Count(r => CachedOrUnchanged.Contains(r)));
    }

    [Fact]
    public void The_tracked_steps_carry_model_specs()
    {
        var compilation = Compile(ModelFile);
        var result = CreateDriver(trackSteps: true).RunGenerators(compilation).GetRunResult().Results[0];
        var spec = (ModelSpec)Assert.Single(result.TrackedSteps[FloraStepNames.Models].SelectMany(s => s.Outputs)).Value;
        Assert.Equal("SmallCnn", spec.Header.DisplayName);
        Assert.Equal(new[] { "conv1", "conv2", "head" }, spec.Targets.Select(t => t.MemberName));
        // The model is read once, from its [FloraModel]; its three [FloraTarget] members give no spec of their own.
        Assert.NotNull(Assert.IsType<ParsedModel>(Assert.Single(Outputs(result, FloraStepNames.ModelTypes)).Value).Spec);
        Assert.Equal(3, Outputs(result, FloraStepNames.Targets).Count());
        Assert.All(Outputs(result, FloraStepNames.Targets), output => Assert.Null(Assert.IsType<ParsedModel>(output.Value).Spec));
    }

    [Fact]
    public void A_model_without_FloraModel_is_read_once_from_its_first_annotated_member()
    {
        var compilation = Compile(Usings + """
            public partial class Probe : Module<Tensor, Tensor>
            {
                [FloraModuleToSave] private readonly Linear head = Linear(4, 2);
                [FloraTarget] private readonly Linear fc = Linear(4, 4);
                [FloraTarget] private readonly Linear proj = Linear(4, 4);
                public Probe() : base(nameof(Probe)) => RegisterComponents();
                public override Tensor forward(Tensor x) => head.call(x);
            }
            """);
        var result = CreateDriver(trackSteps: true).RunGenerators(compilation).GetRunResult().Results[0];
        var spec = Assert.IsType<ParsedModel>(Assert.Single(Outputs(result, FloraStepNames.ModulesToSave)).Value).Spec!;
        Assert.Equal(new[] { "fc", "proj" }, spec.Targets.Select(t => t.MemberName));
        Assert.Equal(2, Outputs(result, FloraStepNames.Targets).Count());
        Assert.All(Outputs(result, FloraStepNames.Targets), output => Assert.Null(Assert.IsType<ParsedModel>(output.Value).Spec));
        Assert.Equal(spec with { HintName = "Probe.Flora.g.cs" }, Assert.Single(Outputs(result, FloraStepNames.Models)).Value);
    }

    private static IEnumerable<(object Value, IncrementalStepRunReason Reason)> Outputs(GeneratorRunResult result, string step) =>
        result.TrackedSteps.TryGetValue(step, out var steps) ? steps.SelectMany(s => s.Outputs) : Enumerable.Empty<(object, IncrementalStepRunReason)>();

    [Fact]
    public void Parsing_the_same_model_twice_gives_equal_specs()
    {
        // Value equality is what lets the pipeline cache: two compilations, two parses, equal specs and hash codes.
        var a = ParseSpec(Compile(ModelFile));
        var b = ParseSpec(Compile(ModelFile));
        Assert.NotSame(a, b);
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, a with { Targets = new EquatableArray<TargetSpec>(a.Targets.Take(2)) });
    }

    private const string NormModelFile = Usings + """
        namespace Demo;

        [FloraModel(Rank = 4, SaveNormLayers = true)]
        public partial class Normed : Module<Tensor, Tensor>
        {
            [FloraTarget] private readonly Linear fc = Linear(16, 16);
            public Normed() : base(nameof(Normed)) => RegisterComponents();
            public override Tensor forward(Tensor x) => norm.call(fc.call(x));
        }
        """;

    private const string NormPartFile = Usings + """
        namespace Demo;

        public partial class Normed
        {
            private readonly LayerNorm norm = LayerNorm(16);
        }
        """;

    [Fact]
    public void Under_SaveNormLayers_an_unrelated_edit_caches_the_model_type_and_every_step()
    {
        var compilation = Compile(NormModelFile, NormPartFile);
        var edited = compilation.AddSyntaxTrees(Parse("namespace Demo; public sealed class Unrelated { public int Value => 42; }", "Unrelated.cs"));
        var (first, second) = RunTwice(compilation, edited);
        Assert.Equal("176", ConstCount(Assert.Single(first.GeneratedSources).SourceText.ToString())); // 144 + LayerNorm(16) 32
        AssertAllCachedOrUnchanged(second);
        var reasons = Reasons(second, FloraStepNames.ModelTypes).ToList();
        Assert.NotEmpty(reasons);
        Assert.True(reasons.All(CachedOrUnchanged.Contains), string.Join(", ", reasons));
    }

    [Fact]
    public void Under_SaveNormLayers_resizing_a_norm_layer_in_another_part_updates_the_count()
    {
        var compilation = Compile(NormModelFile, NormPartFile);
        var part = compilation.SyntaxTrees.Last();
        var edited = compilation.ReplaceSyntaxTree(part, Parse(NormPartFile.Replace("LayerNorm(16)", "LayerNorm(new long[] { 16 }, bias: false)"), part.FilePath));
        var (_, second) = RunTwice(compilation, edited);
        Assert.Contains(IncrementalStepRunReason.Modified, Reasons(second, FloraStepNames.Models));
        Assert.Equal("160", ConstCount(Assert.Single(second.GeneratedSources).SourceText.ToString()));

        // A Sequential in that part hides its modules: the constant goes.
        var hidden = compilation.ReplaceSyntaxTree(part, Parse(NormPartFile.Replace("LayerNorm norm = LayerNorm(16)", "Sequential norm = Sequential(LayerNorm(16))"), part.FilePath));
        var (_, third) = RunTwice(compilation, hidden);
        Assert.Null(ConstCount(Assert.Single(third.GeneratedSources).SourceText.ToString()));
    }

    private static ModelSpec ParseSpec(CSharpCompilation compilation)
    {
        var type = compilation.GetTypeByMetadataName("Demo.SmallCnn")!;
        return Assert.IsType<ModelSpec>(FloraGenerator.Parser.ParseModelType(type, compilation, default).Spec);
    }

    /// <summary>Runs one tracking driver on <paramref name="first"/>, then on <paramref name="second"/>.</summary>
    private static (GeneratorRunResult First, GeneratorRunResult Second) RunTwice(Compilation first, Compilation second)
    {
        var driver = CreateDriver(trackSteps: true).RunGenerators(first);
        var firstResult = driver.GetRunResult().Results[0];
        Assert.Null(firstResult.Exception);
        driver = driver.RunGenerators(second);
        var secondResult = driver.GetRunResult().Results[0];
        Assert.Null(secondResult.Exception);
        return (firstResult, secondResult);
    }

    /// <summary>Replaces <paramref name="find"/> with <paramref name="replace"/> in the first file.</summary>
    private static Compilation Edit(CSharpCompilation compilation, string find, string replace)
    {
        var tree = compilation.SyntaxTrees.First();
        string text = tree.GetText().ToString();
        Assert.Contains(find, text);
        return compilation.ReplaceSyntaxTree(tree, Parse(text.Replace(find, replace), tree.FilePath));
    }

    private static IEnumerable<IncrementalStepRunReason> Reasons(GeneratorRunResult result, string step) =>
        result.TrackedSteps[step].SelectMany(s => s.Outputs).Select(o => o.Reason);

    private static void AssertAllCachedOrUnchanged(GeneratorRunResult result)
    {
        foreach (string step in new[] { FloraStepNames.ModelTypes, FloraStepNames.Targets, FloraStepNames.Models })
        {
            Assert.True(result.TrackedSteps.ContainsKey(step), $"No tracked step '{step}'.");
            var reasons = Reasons(result, step).ToList();
            Assert.NotEmpty(reasons);
            Assert.True(reasons.All(CachedOrUnchanged.Contains), $"{step}: {string.Join(", ", reasons)}");
        }
        var outputs = result.TrackedOutputSteps[WellKnownGeneratorOutputs.SourceOutput].SelectMany(s => s.Outputs).Select(o => o.Reason).ToList();
        Assert.NotEmpty(outputs);
        Assert.True(outputs.All(CachedOrUnchanged.Contains), "SourceOutput: " + string.Join(", ", outputs));
    }

    private static string? ConstCount(string text, string name = "FloraTrainableParameters")
    {
        string marker = name + " = ";
        int at = text.IndexOf(marker, StringComparison.Ordinal);
        return at < 0 ? null : text.Substring(at + marker.Length, text.IndexOf('L', at + marker.Length) - at - marker.Length);
    }
}
