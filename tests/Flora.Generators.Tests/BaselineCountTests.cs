using System.Collections.Generic;
using System.Linq;
using Flora.Generators.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Xunit;
using static Flora.Generators.Tests.Infrastructure.TestCompiler;

namespace Flora.Generators.Tests;

/// <summary>
/// The paper's other baselines in generated code (issue 24): <c>AdapterSize</c> and the AdaLoRA ranks in the generated
/// options, and <c>HoulsbyTrainableParameters</c> / <c>AdaLoraTrainableParameters</c> against counts worked out by hand:
/// a bottleneck of width m on c output channels trains <c>2·c·m + m + c</c>; AdaLoRA at rank r on <c>[out, K]</c>
/// (K = (in/groups)·Πk) trains <c>r·(out + K + 1)</c>; unset sizes are the ones whose count is closest to the target's
/// FLoRA count, ties to the smaller.
/// </summary>
public sealed class BaselineCountTests
{
    // FLoRA counts of the two layers most tests use (TrainableParameterTests works them out the same way):
    // Linear(64, 10) at Rank 8: [10, 64], core 8·8, factors 10·8 + 64·8.
    private const long LinearFlora = 8 * 8 + 10 * 8 + 64 * 8; // 656
    // Conv2d(32, 64, 3) at Rank 8, R3 2: [64, 32, 3, 3], core 8·8·2·2, factors 64·8 + 32·8 + 3·2 + 3·2.
    private const long ConvFlora = 8 * 8 * 2 * 2 + 64 * 8 + 32 * 8 + 3 * 2 + 3 * 2; // 1036

    private const string Linear = "[FloraTarget] private readonly Linear fc = Linear(64, 10);";
    private const string Conv = "[FloraTarget] private readonly Conv2d conv = Conv2d(32, 64, 3, padding: 1);";

    [Fact]
    public void AdapterSize_and_the_AdaLoRA_ranks_go_into_the_generated_options()
    {
        string text = Source("""
            [FloraTarget(AdapterSize = 8)] private readonly Linear fc = Linear(64, 10);
            [FloraTarget(Rank = 4, AdapterSize = 0)] private readonly Linear head = Linear(10, 2);
            """, "[FloraModel(AdapterSize = 16, AdaLoraTargetRank = 4, AdaLoraInitRank = 6)]");

        Assert.Contains("new global::Flora.FloraModelOptions { Rank = 8, R3 = 1, Scale = 0.4d, AdapterSize = 16, "
                        + "AdaLora = new global::Flora.AdaLoraOptions { TargetRank = 4, InitRank = 6 } };", text);
        Assert.Contains("parts.Target(this, \"fc\", this.fc, new global::Flora.FloraTargetOptions { AdapterSize = 8 }", text);
        // 0 is unset: nothing emitted for it.
        Assert.Contains("parts.Target(this, \"head\", this.head, new global::Flora.FloraTargetOptions { Rank = 4 }", text);
    }

    [Fact]
    public void Unset_and_zero_values_emit_nothing_and_one_AdaLoRA_rank_emits_only_itself()
    {
        string unset = Source(Linear, "[FloraModel(AdapterSize = 0, AdaLoraTargetRank = 0, AdaLoraInitRank = 0)]");
        Assert.Contains("new global::Flora.FloraModelOptions { Rank = 8, R3 = 1, Scale = 0.4d };", unset);
        Assert.Contains("parts.Target(this, \"fc\", this.fc, global::Flora.FloraTargetOptions.Inherit", unset);
        Assert.DoesNotContain("AdaLoraOptions", unset);

        Assert.Contains("AdaLora = new global::Flora.AdaLoraOptions { InitRank = 12 } };", Source(Linear, "[FloraModel(AdaLoraInitRank = 12)]"));
        Assert.Contains("AdaLora = new global::Flora.AdaLoraOptions { TargetRank = 2 } };", Source(Linear, "[FloraModel(AdaLoraTargetRank = 2)]"));
    }

    [Fact]
    public void Houlsby_matches_each_target_s_FLoRA_count()
    {
        // Linear: c = 10, FLoRA 656 → m = 31 (661, 5 away; m = 30 gives 640, 16 away).
        Assert.Equal(2 * 10 * 31 + 31 + 10, Counts(Linear)["HoulsbyTrainableParameters"]);
        // Conv2d: c = 64, FLoRA 1036 → m = 8 (1096, 60 away; m = 7 gives 967, 69 away).
        Assert.Equal(2 * 64 * 8 + 8 + 64, Counts(Conv, "[FloraModel(R3 = 2)]")["HoulsbyTrainableParameters"]);
        // Both, summed per target.
        Assert.Equal((2 * 10 * 31 + 31 + 10) + (2 * 64 * 8 + 8 + 64), Counts(Linear + "\n" + Conv, "[FloraModel(R3 = 2)]")["HoulsbyTrainableParameters"]);
    }

    [Fact]
    public void Houlsby_takes_the_target_s_AdapterSize_else_the_model_s()
    {
        var counts = Counts("""
            [FloraTarget(AdapterSize = 4)] private readonly Linear fc = Linear(64, 10);
            [FloraTarget] private readonly Conv2d conv = Conv2d(32, 64, 3, padding: 1);
            """, "[FloraModel(R3 = 2, AdapterSize = 2)]");
        Assert.Equal((2 * 10 * 4 + 4 + 10) + (2 * 64 * 2 + 2 + 64), counts["HoulsbyTrainableParameters"]);
        Assert.Equal(LinearFlora + ConvFlora, counts["FloraTrainableParameters"]);
    }

    [Fact]
    public void AdaLoRA_counts_at_the_initial_rank_1_5_times_the_matched_target_rank()
    {
        // Linear: K = 64, 75 a rank, FLoRA 656 → target 9 (675, 19 away); init ⌈13.5⌉ = 14, at most the full rank 10.
        Assert.Equal(10 * (10 + 64 + 1), Counts(Linear)["AdaLoraTrainableParameters"]);
        // Conv2d: K = 32·3·3 = 288, 353 a rank, FLoRA 1036 → target 3 (1059, 23 away); init ⌈4.5⌉ = 5.
        Assert.Equal(5 * (64 + 288 + 1), Counts(Conv, "[FloraModel(R3 = 2)]")["AdaLoraTrainableParameters"]);
    }

    [Fact]
    public void AdaLoRA_takes_the_model_s_target_and_initial_ranks()
    {
        // Target rank 4 → init 6 on both (within both full ranks).
        Assert.Equal(6 * (10 + 64 + 1) + 6 * (64 + 288 + 1),
            Counts(Linear + "\n" + Conv, "[FloraModel(R3 = 2, AdaLoraTargetRank = 4)]")["AdaLoraTrainableParameters"]);
        // An explicit initial rank is the count's rank, whatever the target rank.
        Assert.Equal(7 * (10 + 64 + 1) + 7 * (64 + 288 + 1),
            Counts(Linear + "\n" + Conv, "[FloraModel(R3 = 2, AdaLoraInitRank = 7)]")["AdaLoraTrainableParameters"]);
        Assert.Equal(7 * (10 + 64 + 1),
            Counts(Linear, "[FloraModel(AdaLoraTargetRank = 2, AdaLoraInitRank = 7)]")["AdaLoraTrainableParameters"]);
    }

    [Fact]
    public void Every_count_includes_the_modules_to_save()
    {
        // [FloraModuleToSave] Linear(10, 2): 10·2 + 2.
        var counts = Counts(Linear + "\n[FloraModuleToSave] private readonly Linear head = Linear(10, 2);");
        Assert.Equal(LinearFlora + 22, counts["FloraTrainableParameters"]);
        Assert.Equal(2 * 10 * 31 + 31 + 10 + 22, counts["HoulsbyTrainableParameters"]);
        Assert.Equal(10 * (10 + 64 + 1) + 22, counts["AdaLoraTrainableParameters"]);
    }

    [Fact]
    public void No_constant_when_a_shape_is_not_literal()
    {
        var counts = Counts("""
            private static int width = 4;
            [FloraTarget] private readonly Linear fc = Linear(64, 10);
            [FloraTarget] private readonly Linear unknown = Linear(width, 4);
            """);
        Assert.All(counts.Values, Assert.Null);
    }

    [Fact]
    public void Invalid_settings_leave_out_only_their_method_s_constant()
    {
        // A negative AdapterSize (FLORA002) leaves Houlsby's count out, not FLoRA's or AdaLoRA's.
        Assert.Equal(new long?[] { LinearFlora, null, 10 * 75 }, Counts("[FloraTarget(AdapterSize = -1)] private readonly Linear fc = Linear(64, 10);").Values);
        Assert.Null(Counts(Linear, "[FloraModel(AdapterSize = -3)]")["HoulsbyTrainableParameters"]);

        // A target rank above the initial one (FLORA014), or a negative AdaLoRA rank (FLORA002), leaves AdaLoRA's out.
        foreach (var model in new[] { "[FloraModel(AdaLoraTargetRank = 8, AdaLoraInitRank = 4)]", "[FloraModel(AdaLoraTargetRank = -1)]", "[FloraModel(AdaLoraInitRank = -2)]" })
            Assert.Equal(new long?[] { LinearFlora, 2 * 10 * 31 + 31 + 10, null }, Counts(Linear, model).Values);

        // An invalid FLoRA rank leaves every count out: the others are matched to it.
        Assert.All(Counts("[FloraTarget(Rank = 0)] private readonly Linear fc = Linear(64, 10);").Values, Assert.Null);
    }

    [Fact]
    public void AdaLoRA_s_constant_is_left_out_when_the_weight_s_matrix_view_passes_a_long()
    {
        // (in/groups)·Πk = 2²¹·2²¹·2²¹ = 2⁶³: FLoRA's and Houlsby's counts fit, AdaLoRA's columns do not.
        var counts = Counts("[FloraTarget(Rank = 1)] private readonly Conv3d v = Conv3d(1, 1, (2097152, 2097152, 2097152));");
        Assert.Equal(1 + 1 + 1 + 3 * 2097152L, counts["FloraTrainableParameters"]);
        Assert.NotNull(counts["HoulsbyTrainableParameters"]);
        Assert.Null(counts["AdaLoraTrainableParameters"]);
    }

    [Fact]
    public void A_model_of_nested_models_adds_up_its_blocks_constants_and_its_own()
    {
        // Block's parts at Net's settings (both the defaults here) plus Net's head, for every method: the same counts as
        // the block and a model of the head alone.
        const string block = """
            public sealed partial class Block : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Linear fc = Linear(64, 10);
                public Block() : base(nameof(Block)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.call(x);
            }
            """;
        var run = Run(Usings + block + """

            [FloraModel]
            public sealed partial class Net : Module<Tensor, Tensor>
            {
                private readonly Block block = new Block();
                [FloraTarget] private readonly Linear head = Linear(10, 2);
                public Net() : base(nameof(Net)) => RegisterComponents();
                public override Tensor forward(Tensor x) => head.call(block.call(x));
            }
            """);
        run.AssertCompilesCleanly();
        var blockCounts = CountsOf(run, "Block");
        Assert.Equal(new long?[] { LinearFlora, 2 * 10 * 31 + 31 + 10 }, blockCounts.Values.Take(2));
        var head = CountsOf(Run(Usings + "public partial class M : Module<Tensor, Tensor> { [FloraTarget] private readonly Linear head = Linear(10, 2); "
                                + "public M() : base(nameof(M)) => RegisterComponents(); public override Tensor forward(Tensor x) => head.call(x); }"), "M");
        // head Linear(10, 2) at Rank 8: [2, 10], ranks (2, 8): 16 + 4 + 80 = 100.
        Assert.Equal(100, head["FloraTrainableParameters"]);
        var net = CountsOf(run, "Net");
        Assert.All(net.Values, count => Assert.NotNull(count));
        Assert.Equal(Names.Select(name => blockCounts[name] + head[name]), net.Values);
    }

    [Fact]
    public void A_derived_model_s_constants_hide_its_base_s()
    {
        var run = Run(Usings + """
            public partial class Backbone : Module<Tensor, Tensor>
            {
                [FloraTarget] protected readonly Linear stem = Linear(64, 10);
                public Backbone(string name) : base(name) { }
                public override Tensor forward(Tensor x) => stem.call(x);
            }
            public partial class WithHead : Backbone
            {
                [FloraTarget] private readonly Linear head = Linear(10, 2);
                public WithHead() : base(nameof(WithHead)) => RegisterComponents();
                public override Tensor forward(Tensor x) => head.call(stem.call(x));
            }
            """);
        run.AssertCompilesCleanly();
        string derived = run.Sources.Single(s => s.HintName.StartsWith("WithHead", System.StringComparison.Ordinal)).SourceText.ToString();
        foreach (var name in Names) Assert.Contains("public new const long " + name + " = ", derived);
    }

    [Fact]
    public void A_base_from_another_assembly_is_hidden_only_for_the_constants_it_has()
    {
        // A base model built elsewhere whose AdaLoRA ranks are invalid (FLORA014): FLoRA's and Houlsby's constants only.
        var baseRun = Run(Compile(Usings + """
            [FloraModel(AdaLoraTargetRank = 8, AdaLoraInitRank = 4)]
            public partial class Backbone : Module<Tensor, Tensor>
            {
                [FloraTarget] protected readonly Linear stem = Linear(64, 10);
                public Backbone(string name) : base(name) { }
                public override Tensor forward(Tensor x) => stem.call(x);
            }
            """).WithAssemblyName("Backbones"));
        baseRun.AssertCompilesCleanly();
        Assert.Equal(new long?[] { LinearFlora, 2 * 10 * 31 + 31 + 10, null }, CountsOf(baseRun, "Backbone").Values);
        using var image = new System.IO.MemoryStream();
        Assert.True(baseRun.Output.Emit(image).Success);

        var run = Run(Compile(Usings + """
            public partial class WithHead : Backbone
            {
                [FloraTarget] private readonly Linear head = Linear(10, 2);
                public WithHead() : base(nameof(WithHead)) => RegisterComponents();
                public override Tensor forward(Tensor x) => head.call(stem.call(x));
            }
            """).AddReferences(MetadataReference.CreateFromImage(image.ToArray())));
        run.AssertCompilesCleanly();
        string text = run.SingleSource();
        Assert.Contains("public new const long FloraTrainableParameters = ", text);
        Assert.Contains("public new const long HoulsbyTrainableParameters = ", text);
        Assert.Contains("public const long AdaLoraTrainableParameters = ", text);
    }

    [Fact]
    public void A_MultiheadAttention_target_claims_no_Houlsby_or_AdaLoRA_count_for_methods_the_runtime_refuses_on_it()
    {
        // E = 16 at Rank 8: in_proj [48, 16] and out_proj [16, 16].
        const long attention = (8 * 8 + 48 * 8 + 16 * 8) + (8 * 8 + 16 * 8 + 16 * 8);
        var counts = Counts(Linear + "\n[FloraTarget] private readonly MultiheadAttention attn = MultiheadAttention(16, 4);",
            "[FloraModel(AdapterSize = 4, AdaLoraTargetRank = 2)]");
        Assert.Equal(LinearFlora + attention, counts["FloraTrainableParameters"]);
        Assert.Null(counts["HoulsbyTrainableParameters"]);
        Assert.Null(counts["AdaLoraTrainableParameters"]);
    }

    private static readonly string[] Names = { "FloraTrainableParameters", "HoulsbyTrainableParameters", "AdaLoraTrainableParameters" };

    /// <summary>The generated text of a model <c>M</c> with <paramref name="members"/>.</summary>
    private static string Source(string members, string modelAttribute = "")
    {
        var run = Run(Model(members, modelAttribute));
        run.AssertGeneratorDidNotFail();
        Assert.Empty(run.GeneratedCodeProblems);
        return run.SingleSource();
    }

    /// <summary>Builds a model <c>M</c> with <paramref name="members"/> and reads its three count constants (null: not emitted).</summary>
    private static Dictionary<string, long?> Counts(string members, string modelAttribute = "")
    {
        var run = Run(Model(members, modelAttribute));
        run.AssertGeneratorDidNotFail();
        Assert.Empty(run.GeneratedCodeProblems);
        return CountsOf(run, "M");
    }

    private static Dictionary<string, long?> CountsOf(GeneratorRun run, string type) => Names.ToDictionary(name => name, name =>
    {
        var field = run.Output.GetTypeByMetadataName(type)!.GetMembers(name).OfType<IFieldSymbol>().SingleOrDefault();
        if (field is null) return (long?)null;
        Assert.True(field.IsConst);
        return Assert.IsType<long>(field.ConstantValue);
    });

    private static string Model(string members, string modelAttribute) => Usings + modelAttribute + """

        public partial class M : Module<Tensor, Tensor>
        {
            public M() : base(nameof(M)) => RegisterComponents();
            public override Tensor forward(Tensor x) => x;

        """ + members + "\n}\n";
}
