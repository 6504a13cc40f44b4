namespace Flora.Analyzers.Tests;

/// <summary>FLORA004: an R3 set on the target that exceeds a kernel axis is an error; an inherited one clamps silently.</summary>
[Trait("Diagnostic", "FLORA004")]
public sealed class R3ExceedsKernelTests
{
    private static DiagnosticResult Diagnostic() => Verify<RankAnalyzer>.Diagnostic(FloraDiagnosticIds.R3ExceedsKernel);

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
    public Task R3_over_a_square_kernel_names_the_axis_its_size_and_the_limit() =>
        Verify<RankAnalyzer>.AnalyzerAsync(Model("""
                [FloraTarget({|#0:R3 = 4|})] private readonly Conv2d conv = Conv2d(3, 8, 3);
            """),
            Diagnostic().WithLocation(0)
                .WithMessage("R3 4 of 'conv' exceeds kernel axis 0 of size 3. Use R3 ≤ 3, or leave R3 unset to inherit it."));

    [Fact]
    public Task R3_over_one_axis_of_a_rectangular_kernel_names_that_axis() =>
        Verify<RankAnalyzer>.AnalyzerAsync(Model("""
                [FloraTarget(Rank = 2, {|#0:R3 = 4|})] private readonly Conv2d conv = Conv2d(3, 8, (5, 3), padding: (2, 1));
            """),
            Diagnostic().WithLocation(0)
                .WithMessage("R3 4 of 'conv' exceeds kernel axis 1 of size 3. Use R3 ≤ 3, or leave R3 unset to inherit it."));

    [Fact]
    public Task R3_on_a_pointwise_conv1d_and_a_conv3d_with_a_short_axis() =>
        Verify<RankAnalyzer>.AnalyzerAsync(Model("""
                private const int K = 1;
                [FloraTarget({|#0:R3 = 2|})] private readonly Conv1d pointwise = Conv1d(4, 4, K);
                [FloraTarget(Rank = 2, {|#1:R3 = 3|})] public Conv3d Volume { get; } = Conv3d(2, 4, (3, 3, 2));
            """),
            Diagnostic().WithLocation(0)
                .WithMessage("R3 2 of 'pointwise' exceeds kernel axis 0 of size 1. Use R3 ≤ 1, or leave R3 unset to inherit it."),
            Diagnostic().WithLocation(1)
                .WithMessage("R3 3 of 'Volume' exceeds kernel axis 2 of size 2. Use R3 ≤ 2, or leave R3 unset to inherit it."));

    [Fact]
    public Task An_inherited_R3_on_a_1x1_conv_clamps_silently() =>
        Verify<RankAnalyzer>.AnalyzerAsync(Model("""
                [FloraTarget(Rank = 4)] private readonly Conv2d pointwise = Conv2d(8, 16, 1);
                [FloraTarget] private readonly Conv3d volume = Conv3d(2, 4, (3, 3, 1));
            """, "[FloraModel(R3 = 2)]"));

    [Fact]
    public Task R3_up_to_the_smallest_kernel_axis_raises_nothing() =>
        Verify<RankAnalyzer>.AnalyzerAsync(Model("""
                [FloraTarget(Rank = 3, R3 = 3)] private readonly Conv2d conv = Conv2d(3, 8, 3);
                [FloraTarget(OutRank = 4, R3 = 3)] private readonly Conv2d wide = Conv2d(3, 8, (3, 7));
                [FloraTarget(Rank = 1, R3 = 1)] private readonly Conv1d pointwise = Conv1d(4, 4, 1);
            """));

    [Fact]
    public Task R3_on_a_kernel_known_only_at_run_time_raises_nothing() =>
        Verify<RankAnalyzer>.AnalyzerAsync("""
            public partial class Model : Module<Tensor, Tensor>
            {
                [FloraTarget(R3 = 5)] private readonly Conv2d conv;
                public Model(int kernel) : base(nameof(Model))
                {
                    conv = Conv2d(3, 8, kernel);
                    RegisterComponents();
                }
                public override Tensor forward(Tensor x) => conv.call(x);
            }
            """);
}
