namespace Flora.Analyzers.Tests;

/// <summary>
/// FLORA003: a rank set explicitly on a target that exceeds the mode it factorises is clamped, with a warning;
/// inherited ranks clamp silently. The diagnostic carries the replacement its code fix writes.
/// </summary>
[Trait("Diagnostic", "FLORA003")]
public sealed class RankExceedsModeTests
{
    private static DiagnosticResult Diagnostic() => Verify<RankAnalyzer>.Diagnostic(FloraDiagnosticIds.RankExceedsMode);

    private static string Model(string members) => $$"""
        [FloraModel]
        public partial class Model : Module<Tensor, Tensor>
        {
        {{members}}
            public Model() : base(nameof(Model)) => RegisterComponents();
            public override Tensor forward(Tensor x) => x;
        }
        """;

    [Fact]
    public Task A_rank_over_both_modes_of_a_Linear_names_both_and_the_smaller_limit() =>
        Verify<RankAnalyzer>.AnalyzerAsync(Model("""
                [FloraTarget({|#0:Rank = 64|})] private readonly Linear head = Linear(16, 10);
            """),
            Diagnostic().WithLocation(0)
                .WithMessage("Rank 64 of 'head' exceeds out_features 10 and in_features 16; it is clamped to 10 and 16. Use Rank ≤ 10."));

    [Fact]
    public Task Rank_16_on_a_single_channel_input_suggests_the_split_that_keeps_it() =>
        Verify<RankAnalyzer>.AnalyzerAsync(Model("""
                [FloraTarget({|#0:Rank = 16|}, R3 = 2)] private readonly Conv2d conv1 = Conv2d(1, 32, 3, padding: 1);
            """),
            Diagnostic().WithLocation(0)
                .WithMessage("Rank 16 of 'conv1' exceeds in_channels/groups 1; it is clamped to 1. Use OutRank = 16, InRank = 1 to say so, or a Rank ≤ 1."));

    [Fact]
    public Task Rank_over_the_out_mode_only_suggests_the_split_the_other_way() =>
        Verify<RankAnalyzer>.AnalyzerAsync(Model("""
                [FloraTarget({|#0:Rank = 12|})] private readonly Linear head = Linear(16, 10);
            """),
            Diagnostic().WithLocation(0)
                .WithMessage("Rank 12 of 'head' exceeds out_features 10; it is clamped to 10. Use OutRank = 10, InRank = 12 to say so, or a Rank ≤ 10."));

    [Fact]
    public Task OutRank_and_InRank_are_checked_against_their_own_modes() =>
        Verify<RankAnalyzer>.AnalyzerAsync(Model("""
                [FloraTarget({|#0:OutRank = 64|}, {|#1:InRank = 20|})] private readonly Linear fc = Linear(16, 10);
            """),
            Diagnostic().WithLocation(0).WithMessage("OutRank 64 of 'fc' exceeds out_features 10; it is clamped to 10. Use OutRank ≤ 10."),
            Diagnostic().WithLocation(1).WithMessage("InRank 20 of 'fc' exceeds in_features 16; it is clamped to 16. Use InRank ≤ 16."));

    [Fact]
    public Task Rank_is_checked_on_the_mode_that_OutRank_leaves_to_it() =>
        Verify<RankAnalyzer>.AnalyzerAsync(Model("""
                [FloraTarget({|#0:Rank = 64|}, OutRank = 4)] private readonly Linear fc = Linear(16, 10);
            """),
            Diagnostic().WithLocation(0).WithMessage("Rank 64 of 'fc' exceeds in_features 16; it is clamped to 16. Use Rank ≤ 16."));

    [Fact]
    public Task An_explicit_rank_on_a_depthwise_conv_is_clamped_on_its_single_input_channel_per_group() =>
        Verify<RankAnalyzer>.AnalyzerAsync(Model("""
                [FloraTarget({|#0:Rank = 4|})] private readonly Conv2d dw = Conv2d(8, 8, 7, padding: 3, groups: 8);
            """),
            Diagnostic().WithLocation(0)
                .WithMessage("Rank 4 of 'dw' exceeds in_channels/groups 1; it is clamped to 1. Use OutRank = 4, InRank = 1 to say so, or a Rank ≤ 1."));

    [Fact]
    public Task Properties_constants_tuples_and_constructor_assignments_are_read() =>
        Verify<RankAnalyzer>.AnalyzerAsync(Model("""
                private const int Width = 6;
                [FloraTarget({|FLORA003:OutRank = 7|})] public Conv2d Stem { get; } = Conv2d(3, Width, (3, 5), padding: (1, 2));
                [FloraTarget({|FLORA003:InRank = 7|})] public Module<Tensor, Tensor> Mix { get; set; } = Conv1d(Width, 2 * Width, 3, padding: 1);
                [FloraTarget({|FLORA003:Rank = 40|})] private readonly Conv3d volume;
                [FloraTarget({|FLORA003:Rank = 5|})] private Linear Head { get; }
                public Model(bool unused) : base(nameof(Model))
                {
                    volume = Conv3d(2, 32, 3);
                    Head = Linear(4, 4);
                }
            """));

    [Fact]
    public Task Inherited_ranks_clamp_silently() =>
        Verify<RankAnalyzer>.AnalyzerAsync("""
            [FloraModel(Rank = 64, R3 = 2)]
            public partial class Model : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Linear head = Linear(16, 10);
                [FloraTarget] private readonly Conv2d dw = Conv2d(8, 8, 7, padding: 3, groups: 8);
                [FloraTarget] private readonly Conv2d pointwise = Conv2d(8, 16, 1);
                [FloraTarget(R3 = 1)] private readonly Conv1d seq = Conv1d(1, 2, 3);
                public Model() : base(nameof(Model)) => RegisterComponents();
                public override Tensor forward(Tensor x) => x;
            }
            """);

    [Fact]
    public Task Ranks_that_fit_exactly_raise_nothing() =>
        Verify<RankAnalyzer>.AnalyzerAsync(Model("""
                [FloraTarget(Rank = 10)] private readonly Linear head = Linear(16, 10);
                [FloraTarget(OutRank = 16, InRank = 1, R3 = 2)] private readonly Conv2d conv1 = Conv2d(1, 32, 3, padding: 1);
                [FloraTarget(OutRank = 8, InRank = 1)] private readonly Conv2d dw = Conv2d(8, 8, 7, padding: 3, groups: 8);
            """));

    [Fact]
    public Task Shapes_known_only_at_run_time_raise_nothing() =>
        Verify<RankAnalyzer>.AnalyzerAsync("""
            public partial class RuntimeShapes : Module<Tensor, Tensor>
            {
                [FloraTarget(Rank = 64)] private readonly Linear fc;
                [FloraTarget(Rank = 64, R3 = 3)] private readonly Conv3d conv;
                public RuntimeShapes(int width) : base(nameof(RuntimeShapes))
                {
                    fc = Linear(width, width);
                    conv = Conv3d(2, width, 3, padding: 1);
                    RegisterComponents();
                }
                public override Tensor forward(Tensor x) => fc.call(conv.call(x).mean(new long[] { 2, 3, 4 }));
            }
            """);

    [Fact]
    public Task Pragma_warning_disable_FLORA003_is_respected() =>
        Verify<RankAnalyzer>.AnalyzerAsync(Model("""
            #pragma warning disable FLORA003 // Rank 16 exceeds the single input channel: r_in is clamped to 1, on purpose.
                [FloraTarget(Rank = 16, R3 = 2)] private readonly Conv2d conv1 = Conv2d(1, 32, 3, padding: 1);
            #pragma warning restore FLORA003
                [FloraTarget({|FLORA003:Rank = 16|})] private readonly Conv2d conv2 = Conv2d(1, 32, 3, padding: 1);
            """), TestBehaviors.SkipSuppressionCheck);

    [Fact]
    public Task A_rank_over_a_MultiheadAttention_s_embed_dim_names_it_once() =>
        // in_proj_weight [48, 16] and out_proj.weight [16, 16]: a rank clamps on out_proj whenever it clamps at all.
        Verify<RankAnalyzer>.AnalyzerAsync(Model("""
                [FloraTarget({|#0:Rank = 32|})] private readonly MultiheadAttention attn = MultiheadAttention(16, 4);
                [FloraTarget({|#1:OutRank = 24|}, InRank = 16)] private readonly MultiheadAttention cross = MultiheadAttention(16, 2);
                [FloraTarget(Rank = 16)] private readonly MultiheadAttention fits = MultiheadAttention(16, 2);
            """),
            Diagnostic().WithLocation(0).WithMessage("Rank 32 of 'attn' exceeds embed_dim 16; it is clamped to 16. Use Rank ≤ 16."),
            Diagnostic().WithLocation(1).WithMessage("OutRank 24 of 'cross' exceeds embed_dim 16; it is clamped to 16. Use OutRank ≤ 16."));
}
