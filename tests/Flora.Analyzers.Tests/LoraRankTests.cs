using Flora.Analyzers.CodeFixes;

namespace Flora.Analyzers.Tests;

/// <summary>
/// LoraRank and LoraAlpha on [FloraModel] and [FloraTarget] (0 is unset for both): FLORA002 for a negative LoraRank,
/// FLORA003 for a LoraRank (own or inherited) over the weight's full rank min(out, in/groups·Πk), FLORA007 for a LoraAlpha
/// that is set and not a finite number greater than 0; and their fixes.
/// </summary>
[Trait("Diagnostic", "FLORA003")]
public sealed class LoraRankTests
{
    private static DiagnosticResult Diagnostic(string id) => Verify<RankAnalyzer>.Diagnostic(id);

    private static string Model(string members, string model = "[FloraModel]") => $$"""
        {{model}}
        public partial class Model : Module<Tensor, Tensor>
        {
        {{members}}
            public Model() : base(nameof(Model)) => RegisterComponents();
            public override Tensor forward(Tensor x) => x;
        }
        """;

    [Fact]
    [Trait("Diagnostic", "FLORA002")]
    public Task A_negative_LoraRank_is_marked_on_targets_and_models() =>
        Verify<RankAnalyzer>.AnalyzerAsync(Model("""
                [FloraTarget({|#1:LoraRank = -4|})] private readonly Linear fc = Linear(16, 10);
            """, "[FloraModel({|#0:LoraRank = -1|})]"),
            Diagnostic(FloraDiagnosticIds.RankBelowOne).WithLocation(0).WithMessage(
                "LoraRank -1 of 'Model' is less than 1. A LoRA rank must be at least 1; leave LoraRank unset (0) to match FLoRA's budget."),
            Diagnostic(FloraDiagnosticIds.RankBelowOne).WithLocation(1).WithMessage(
                "LoraRank -4 of 'fc' is less than 1. A LoRA rank must be at least 1; leave LoraRank unset (0) to match FLoRA's budget."));

    [Fact]
    [Trait("Diagnostic", "FLORA002")]
    public Task LoraRank_0_is_unset_and_raises_nothing() =>
        Verify<RankAnalyzer>.AnalyzerAsync(Model("""
                [FloraTarget(LoraRank = 0, LoraAlpha = 0)] private readonly Linear fc = Linear(16, 10);
                [FloraTarget(LoraRank = 10, LoraAlpha = 16)] private readonly Linear head = Linear(16, 10);
            """, "[FloraModel(LoraRank = 0, LoraAlpha = 0)]"));

    [Fact]
    [Trait("Diagnostic", "FLORA002")]
    public Task A_negative_LoraRank_does_not_stop_the_FLoRA_rank_checks() =>
        Verify<RankAnalyzer>.AnalyzerAsync(Model("""
                [FloraTarget({|FLORA003:Rank = 64|}, {|FLORA002:LoraRank = -1|})] private readonly Linear fc = Linear(16, 10);
                [FloraTarget({|FLORA002:Rank = 0|}, {|FLORA003:LoraRank = 64|})] private readonly Linear head = Linear(16, 10);
            """));

    [Fact]
    public Task An_explicit_LoraRank_over_the_full_rank_is_marked_with_the_weight_and_the_limit() =>
        Verify<RankAnalyzer>.AnalyzerAsync(Model("""
                [FloraTarget({|#0:LoraRank = 64|})] private readonly Linear head = Linear(16, 10);
                [FloraTarget(OutRank = 4, {|#1:LoraRank = 16|})] private readonly Conv2d stem = Conv2d(1, 32, 3, padding: 1);
                [FloraTarget({|#2:LoraRank = 9|})] private readonly Conv2d dw = Conv2d(8, 8, 7, padding: 3, groups: 8);
            """),
            Diagnostic(FloraDiagnosticIds.RankExceedsMode).WithLocation(0).WithMessage(
                "LoraRank 64 of 'head' exceeds the full rank 10 of its weight [10, 16] (min(out, in/groups·Πk)); it is clamped to 10. Use LoraRank ≤ 10."),
            Diagnostic(FloraDiagnosticIds.RankExceedsMode).WithLocation(1).WithMessage(
                "LoraRank 16 of 'stem' exceeds the full rank 9 of its weight [32, 1, 3, 3] (min(out, in/groups·Πk)); it is clamped to 9. Use LoraRank ≤ 9."),
            Diagnostic(FloraDiagnosticIds.RankExceedsMode).WithLocation(2).WithMessage(
                "LoraRank 9 of 'dw' exceeds the full rank 8 of its weight [8, 1, 7, 7] (min(out, in/groups·Πk)); it is clamped to 8. Use LoraRank ≤ 8."));

    [Fact]
    public Task An_inherited_LoraRank_over_the_full_rank_is_marked_on_the_target_s_attribute() =>
        Verify<RankAnalyzer>.AnalyzerAsync(Model("""
                [{|#0:FloraTarget|}] private readonly Linear head = Linear(16, 10);
                [{|#1:FloraTarget(Rank = 2)|}] private readonly Conv1d seq = Conv1d(2, 4, 3);
                [FloraTarget({|#2:LoraRank = 0|})] private readonly Linear tiny = Linear(4, 4);
                [FloraTarget] private readonly Linear wide = Linear(64, 64);
                [FloraTarget(LoraRank = 2)] private readonly Linear small = Linear(4, 2);
            """, "[FloraModel(LoraRank = 32)]"),
            Diagnostic(FloraDiagnosticIds.RankExceedsMode).WithLocation(0).WithMessage(
                "LoraRank 32 of 'head' exceeds the full rank 10 of its weight [10, 16] (min(out, in/groups·Πk)); it is clamped to 10. It inherits LoraRank 32 from [FloraModel]: set LoraRank ≤ 10 on 'head', or lower the model's."),
            Diagnostic(FloraDiagnosticIds.RankExceedsMode).WithLocation(1).WithMessage(
                "LoraRank 32 of 'seq' exceeds the full rank 4 of its weight [4, 2, 3] (min(out, in/groups·Πk)); it is clamped to 4. It inherits LoraRank 32 from [FloraModel]: set LoraRank ≤ 4 on 'seq', or lower the model's."),
            Diagnostic(FloraDiagnosticIds.RankExceedsMode).WithLocation(2).WithMessage(
                "LoraRank 32 of 'tiny' exceeds the full rank 4 of its weight [4, 4] (min(out, in/groups·Πk)); it is clamped to 4. It inherits LoraRank 32 from [FloraModel]: set LoraRank ≤ 4 on 'tiny', or lower the model's."));

    [Fact]
    public Task LoraRanks_that_fit_or_shapes_known_only_at_run_time_raise_nothing() =>
        Verify<RankAnalyzer>.AnalyzerAsync("""
            [FloraModel(LoraRank = 64)]
            public partial class Model : Module<Tensor, Tensor>
            {
                [FloraTarget(LoraRank = 10)] private readonly Linear head = Linear(16, 10);
                [FloraTarget] private readonly Linear wide = Linear(64, 128);
                [FloraTarget(LoraRank = 9)] private readonly Conv2d stem = Conv2d(1, 32, 3, padding: 1);
                [FloraTarget(LoraRank = 1000)] private readonly Linear fc;
                [FloraTarget] private readonly Conv2d conv;
                public Model(int width) : base(nameof(Model))
                {
                    fc = Linear(width, width);
                    conv = Conv2d(width, 8, 1);
                    RegisterComponents();
                }
                public override Tensor forward(Tensor x) => x;
            }
            """);

    [Fact]
    [Trait("Diagnostic", "FLORA007")]
    public Task A_LoraAlpha_that_is_set_and_not_finite_and_positive_is_marked() =>
        Verify<RankAnalyzer>.AnalyzerAsync(Model("""
                [FloraTarget({|#1:LoraAlpha = -1|})] private readonly Linear a = Linear(16, 10);
                [FloraTarget({|#2:LoraAlpha = double.NaN|})] private readonly Linear b = Linear(16, 10);
                [FloraTarget({|#3:LoraAlpha = double.PositiveInfinity|}, LoraRank = 4)] private readonly Linear c = Linear(16, 10);
                [FloraTarget(LoraAlpha = -0.0)] private readonly Linear d = Linear(16, 10);
                [FloraTarget(LoraAlpha = 1e-6)] private readonly Linear e = Linear(16, 10);
            """, "[FloraModel({|#0:LoraAlpha = double.NegativeInfinity|})]"),
            Diagnostic(FloraDiagnosticIds.InvalidScale).WithLocation(0).WithMessage(
                "LoraAlpha -Infinity of 'Model' is not a finite number greater than 0. Use a positive α (the update is scaled by α/r), or leave LoraAlpha unset (0) for α = r."),
            Diagnostic(FloraDiagnosticIds.InvalidScale).WithLocation(1).WithMessage(
                "LoraAlpha -1 of 'a' is not a finite number greater than 0. Use a positive α (the update is scaled by α/r), or leave LoraAlpha unset (0) for α = r."),
            Diagnostic(FloraDiagnosticIds.InvalidScale).WithLocation(2).WithMessage(
                "LoraAlpha NaN of 'b' is not a finite number greater than 0. Use a positive α (the update is scaled by α/r), or leave LoraAlpha unset (0) for α = r."),
            Diagnostic(FloraDiagnosticIds.InvalidScale).WithLocation(3).WithMessage(
                "LoraAlpha Infinity of 'c' is not a finite number greater than 0. Use a positive α (the update is scaled by α/r), or leave LoraAlpha unset (0) for α = r."));

    [Fact]
    public Task Fix_an_explicit_LoraRank_is_set_to_the_full_rank() =>
        VerifyFix<RankAnalyzer, ReplaceAttributeArgumentCodeFix>.FixAsync(Model("""
                [FloraTarget(Rank = 4, {|FLORA003:LoraRank = 64|})] private readonly Linear head = Linear(16, 10);
            """), Model("""
                [FloraTarget(Rank = 4, LoraRank = 10)] private readonly Linear head = Linear(16, 10);
            """), title: "Set LoraRank = 10");

    [Fact]
    public Task Fix_an_inherited_LoraRank_adds_the_full_rank_to_the_target() =>
        VerifyFix<RankAnalyzer, ReplaceAttributeArgumentCodeFix>.FixAsync(Model("""
                [{|FLORA003:FloraTarget|}] private readonly Linear head = Linear(16, 10);
            """, "[FloraModel(LoraRank = 32)]"), Model("""
                [FloraTarget(LoraRank = 10)] private readonly Linear head = Linear(16, 10);
            """, "[FloraModel(LoraRank = 32)]"), title: "Add LoraRank = 10");

    [Fact]
    public Task Fix_all_adds_or_sets_LoraRank_on_every_target() =>
        VerifyFix<RankAnalyzer, ReplaceAttributeArgumentCodeFix>.FixAsync(Model("""
                [{|FLORA003:FloraTarget|}] private readonly Linear head = Linear(16, 10);
                [{|FLORA003:FloraTarget()|}] private readonly Linear empty = Linear(16, 12);
                [{|FLORA003:FloraTarget(Rank = 2, Scale = 4)|}] private readonly Conv1d seq = Conv1d(2, 4, 3);
                [FloraTarget({|FLORA003:LoraRank = 0|})] private readonly Linear tiny = Linear(4, 4);
                [FloraTarget({|FLORA003:LoraRank = 50|})] private readonly Linear own = Linear(8, 8);
            """, "[FloraModel(LoraRank = 32)]"), Model("""
                [FloraTarget(LoraRank = 10)] private readonly Linear head = Linear(16, 10);
                [FloraTarget(LoraRank = 12)] private readonly Linear empty = Linear(16, 12);
                [FloraTarget(Rank = 2, Scale = 4, LoraRank = 4)] private readonly Conv1d seq = Conv1d(2, 4, 3);
                [FloraTarget(LoraRank = 4)] private readonly Linear tiny = Linear(4, 4);
                [FloraTarget(LoraRank = 8)] private readonly Linear own = Linear(8, 8);
            """, "[FloraModel(LoraRank = 32)]"), test => test.NumberOfFixAllIterations = 1);

    [Fact]
    [Trait("Diagnostic", "FLORA007")]
    public Task Fix_an_invalid_LoraAlpha_is_removed_for_alpha_equal_to_r() =>
        VerifyFix<RankAnalyzer, ReplaceAttributeArgumentCodeFix>.FixAsync(Model("""
                [FloraTarget(LoraRank = 4, {|FLORA007:LoraAlpha = -8|})] private readonly Linear fc = Linear(16, 10);
            """, "[FloraModel({|FLORA007:LoraAlpha = double.NaN|})]"), Model("""
                [FloraTarget(LoraRank = 4)] private readonly Linear fc = Linear(16, 10);
            """, "[FloraModel]"));
}

/// <summary>The shared LoRA rank rule (FloraRankRules, also compiled into the runtime and the generator).</summary>
public sealed class LoraRankRulesTests
{
    [Theory]
    [InlineData(new long[] { 10, 16 }, 10)]
    [InlineData(new long[] { 16, 10 }, 10)]
    [InlineData(new long[] { 32, 1, 3, 3 }, 9)]
    [InlineData(new long[] { 8, 1, 7, 7 }, 8)]
    [InlineData(new long[] { 64, 32, 3, 3, 3 }, 64)]
    [InlineData(new long[] { 1, 1 }, 1)]
    [InlineData(new long[] { long.MaxValue, long.MaxValue, long.MaxValue }, int.MaxValue)]
    [InlineData(new long[] { 5_000_000_000, 4 }, 4)]
    [InlineData(new long[] { 3, 100_000, 100_000 }, 3)]
    public void LoraFullRank_is_min_of_out_and_the_product_of_the_other_axes(long[] shape, int expected) =>
        Assert.Equal(expected, FloraRankRules.LoraFullRank(shape));

    [Theory]
    [InlineData(64, 10)]
    [InlineData(10, 10)]
    [InlineData(3, 3)]
    [InlineData(1, 1)]
    public void ClampLoraRank_clamps_to_the_full_rank(int rank, int expected) =>
        Assert.Equal(expected, FloraRankRules.ClampLoraRank(new long[] { 10, 16 }, rank));

    [Fact]
    public void Invalid_inputs_throw_argument_exceptions()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => FloraRankRules.ClampLoraRank(new long[] { 10, 16 }, 0));
        Assert.Throws<ArgumentException>(() => FloraRankRules.LoraFullRank(new long[] { 10 }));
        Assert.Throws<ArgumentException>(() => FloraRankRules.LoraFullRank(new long[] { 10, 0 }));
        Assert.Throws<ArgumentNullException>(() => FloraRankRules.LoraFullRank(null!));
    }
}
