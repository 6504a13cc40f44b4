namespace Flora.Analyzers.Tests;

/// <summary>FLORA002: every rank (Rank, InRank, OutRank, R3) of a target or a model must be at least 1.</summary>
[Trait("Diagnostic", "FLORA002")]
public sealed class RankBelowOneTests
{
    private static DiagnosticResult Diagnostic() => Verify<RankAnalyzer>.Diagnostic(FloraDiagnosticIds.RankBelowOne);

    [Fact]
    public Task A_zero_rank_on_a_target_is_marked_with_member_and_value() =>
        Verify<RankAnalyzer>.AnalyzerAsync("""
            public partial class Model : Module<Tensor, Tensor>
            {
                [FloraTarget({|#0:Rank = 0|})] private readonly Linear fc = Linear(8, 4);
                public Model() : base(nameof(Model)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.call(x);
            }
            """,
            Diagnostic().WithLocation(0).WithMessage("Rank 0 of 'fc' is less than 1. Every FLoRA rank must be at least 1."));

    [Fact]
    public Task Each_rank_below_one_is_marked_separately() =>
        Verify<RankAnalyzer>.AnalyzerAsync("""
            public partial class Model : Module<Tensor, Tensor>
            {
                [FloraTarget({|#0:InRank = -1|}, {|#1:OutRank = 0|}, {|#2:R3 = 0|})] private readonly Conv2d conv = Conv2d(3, 8, 3);
                public Model() : base(nameof(Model)) => RegisterComponents();
                public override Tensor forward(Tensor x) => conv.call(x);
            }
            """,
            Diagnostic().WithLocation(0).WithMessage("InRank -1 of 'conv' is less than 1. Every FLoRA rank must be at least 1."),
            Diagnostic().WithLocation(1).WithMessage("OutRank 0 of 'conv' is less than 1. Every FLoRA rank must be at least 1."),
            Diagnostic().WithLocation(2).WithMessage("R3 0 of 'conv' is less than 1. Every FLoRA rank must be at least 1."));

    [Fact]
    public Task Model_defaults_below_one_are_marked_on_the_model_and_not_again_on_its_targets() =>
        Verify<RankAnalyzer>.AnalyzerAsync("""
            [FloraModel({|#0:Rank = 0|}, {|#1:R3 = -2|})]
            public partial class Model : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Conv2d conv = Conv2d(3, 8, 3);
                [FloraTarget] private readonly Linear fc = Linear(8, 4);
                public Model() : base(nameof(Model)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.call(conv.call(x).mean(new long[] { 2, 3 }));
            }
            """,
            Diagnostic().WithLocation(0).WithMessage("Rank 0 of 'Model' is less than 1. Every FLoRA rank must be at least 1."),
            Diagnostic().WithLocation(1).WithMessage("R3 -2 of 'Model' is less than 1. Every FLoRA rank must be at least 1."));

    [Fact]
    public Task A_rank_from_a_negative_constant_expression_is_marked() =>
        Verify<RankAnalyzer>.AnalyzerAsync("""
            public partial class Model : Module<Tensor, Tensor>
            {
                private const int Width = 4;
                [FloraTarget({|FLORA002:OutRank = Width - 5|})] public Linear Head { get; } = Linear(Width, 2);
                public Model() : base(nameof(Model)) => RegisterComponents();
                public override Tensor forward(Tensor x) => Head.call(x);
            }
            """);

    [Fact]
    public Task A_rank_below_one_is_the_only_report_for_its_target() =>
        Verify<RankAnalyzer>.AnalyzerAsync("""
            public partial class Model : Module<Tensor, Tensor>
            {
                // R3 = 9 would be FLORA004 on a 3×3 kernel; the invalid rank is reported first and alone.
                [FloraTarget({|FLORA002:Rank = 0|}, R3 = 9)] private readonly Conv2d conv = Conv2d(3, 8, 3);
                public Model() : base(nameof(Model)) => RegisterComponents();
                public override Tensor forward(Tensor x) => conv.call(x);
            }
            """);

    [Fact]
    public Task Ranks_of_one_raise_nothing() =>
        Verify<RankAnalyzer>.AnalyzerAsync("""
            [FloraModel(Rank = 1, R3 = 1)]
            public partial class Model : Module<Tensor, Tensor>
            {
                [FloraTarget(Rank = 1, InRank = 1, OutRank = 1, R3 = 1)] private readonly Conv2d conv = Conv2d(3, 8, 3);
                [FloraTarget] private readonly Linear fc = Linear(8, 4);
                public Model() : base(nameof(Model)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.call(conv.call(x).mean(new long[] { 2, 3 }));
            }
            """);
}
