namespace Flora.Analyzers.Tests;

/// <summary>
/// The settings of the paper's other baselines (issue 24), 0 being unset for each: FLORA002 for a negative
/// <c>AdapterSize</c> (on [FloraModel] and [FloraTarget]) or AdaLoRA rank (on [FloraModel]); FLORA014 for an
/// <c>AdaLoraTargetRank</c> above the <c>AdaLoraInitRank</c>.
/// </summary>
[Trait("Diagnostic", "FLORA002")]
public sealed class BaselineSettingsTests
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
    public Task A_negative_AdapterSize_is_marked_on_targets_and_models() =>
        Verify<RankAnalyzer>.AnalyzerAsync(Model("""
                [FloraTarget(Rank = 4, {|#1:AdapterSize = -8|})] private readonly Linear fc = Linear(16, 10);
            """, "[FloraModel({|#0:AdapterSize = -1|})]"),
            Diagnostic(FloraDiagnosticIds.RankBelowOne).WithLocation(0).WithMessage(
                "AdapterSize -1 of 'Model' is less than 1. A bottleneck adapter is at least 1 wide; leave AdapterSize unset (0) to match FLoRA's budget."),
            Diagnostic(FloraDiagnosticIds.RankBelowOne).WithLocation(1).WithMessage(
                "AdapterSize -8 of 'fc' is less than 1. A bottleneck adapter is at least 1 wide; leave AdapterSize unset (0) to match FLoRA's budget."));

    [Fact]
    public Task Negative_AdaLoRA_ranks_are_marked_each_with_its_advice() =>
        Verify<RankAnalyzer>.AnalyzerAsync(Model("""
                [FloraTarget] private readonly Linear fc = Linear(16, 10);
            """, "[FloraModel({|#0:AdaLoraTargetRank = -4|}, {|#1:AdaLoraInitRank = -2|})]"),
            Diagnostic(FloraDiagnosticIds.RankBelowOne).WithLocation(0).WithMessage(
                "AdaLoraTargetRank -4 of 'Model' is less than 1. An AdaLoRA rank must be at least 1; leave AdaLoraTargetRank unset (0) to match FLoRA's budget."),
            Diagnostic(FloraDiagnosticIds.RankBelowOne).WithLocation(1).WithMessage(
                "AdaLoraInitRank -2 of 'Model' is less than 1. An AdaLoRA rank must be at least 1; leave AdaLoraInitRank unset (0) to start at 1.5× the target rank."));

    [Fact]
    public Task A_negative_AdapterSize_from_a_constant_expression_is_marked() =>
        Verify<RankAnalyzer>.AnalyzerAsync(Model("""
                private const int Width = 4;
                [FloraTarget({|FLORA002:AdapterSize = Width - 5|})] public Linear Head { get; } = Linear(Width, 2);
            """));

    [Fact]
    public Task Zero_is_unset_and_positive_values_raise_nothing_from_any_analyzer() =>
        VerifyAll.AnalyzerAsync("""
            [FloraModel(AdapterSize = 0, AdaLoraTargetRank = 0, AdaLoraInitRank = 0, SaveNormLayers = false)]
            public partial class Unset : Module<Tensor, Tensor>
            {
                [FloraTarget(AdapterSize = 0)] private readonly Linear fc = Linear(16, 10);
                [FloraTarget(AdapterSize = 64)] private readonly Conv2d conv = Conv2d(3, 8, 3);
                public Unset() : base(nameof(Unset)) => RegisterComponents();
                public override Tensor forward(Tensor x) => x;
            }

            [FloraModel(AdapterSize = 1, AdaLoraTargetRank = 8, AdaLoraInitRank = 8)]
            public partial class Equal : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Linear fc = Linear(16, 10);
                public Equal() : base(nameof(Equal)) => RegisterComponents();
                public override Tensor forward(Tensor x) => x;
            }

            [FloraModel(AdaLoraTargetRank = 16)]
            public partial class TargetOnly : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Linear fc = Linear(16, 10);
                public TargetOnly() : base(nameof(TargetOnly)) => RegisterComponents();
                public override Tensor forward(Tensor x) => x;
            }

            [FloraModel(AdaLoraTargetRank = 8, AdaLoraInitRank = 12)]
            public partial class PeftDefaults : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Linear fc = Linear(16, 10);
                public PeftDefaults() : base(nameof(PeftDefaults)) => RegisterComponents();
                public override Tensor forward(Tensor x) => x;
            }
            """);

    [Fact]
    public Task A_negative_AdapterSize_does_not_stop_the_rank_checks() =>
        Verify<RankAnalyzer>.AnalyzerAsync(Model("""
                [FloraTarget({|FLORA003:Rank = 64|}, {|FLORA002:AdapterSize = -1|})] private readonly Linear fc = Linear(16, 10);
                [FloraTarget({|FLORA002:Rank = 0|}, {|FLORA002:AdapterSize = -1|}, {|FLORA003:LoraRank = 64|})] private readonly Linear head = Linear(16, 10);
            """));

    [Fact]
    [Trait("Diagnostic", "FLORA014")]
    public Task An_AdaLoRA_target_rank_above_the_initial_rank_is_marked_on_the_initial_rank() =>
        Verify<RankAnalyzer>.AnalyzerAsync("""
            [FloraModel(Rank = 4, AdaLoraTargetRank = 16, {|#0:AdaLoraInitRank = 12|})]
            public partial class SmallCnn : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Conv2d conv = Conv2d(32, 64, 3);
                public SmallCnn() : base(nameof(SmallCnn)) => RegisterComponents();
                public override Tensor forward(Tensor x) => conv.call(x);
            }
            """,
            Diagnostic(FloraDiagnosticIds.AdaLoraTargetAboveInit).WithLocation(0).WithMessage(
                "AdaLoraTargetRank 16 of 'SmallCnn' exceeds AdaLoraInitRank 12: AdaLoRA only removes ranks. Use AdaLoraInitRank ≥ 16, or a lower AdaLoraTargetRank."));

    [Fact]
    [Trait("Diagnostic", "FLORA014")]
    public Task A_negative_AdaLoRA_rank_is_FLORA002_alone_and_is_not_compared() =>
        Verify<RankAnalyzer>.AnalyzerAsync(Model("""
                [FloraTarget] private readonly Linear fc = Linear(16, 10);
            """, "[FloraModel(AdaLoraTargetRank = 4, {|FLORA002:AdaLoraInitRank = -1|})]"));

    [Fact]
    [Trait("Diagnostic", "FLORA014")]
    public void FLORA014_is_an_error_in_the_usage_category()
    {
        var descriptor = Assert.Single(new RankAnalyzer().SupportedDiagnostics, d => d.Id == FloraDiagnosticIds.AdaLoraTargetAboveInit);
        Assert.Equal(("FLORA014", DiagnosticSeverity.Error, "Flora.Usage"), (descriptor.Id, descriptor.DefaultSeverity, descriptor.Category));
    }
}
