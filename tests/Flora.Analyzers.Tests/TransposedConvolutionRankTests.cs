namespace Flora.Analyzers.Tests;

/// <summary>
/// Transposed convolutions are targets like any other layer: their weight is <c>[in, out/groups, k…]</c>, so mode 0 is
/// the input channels (InRank) and mode 1 the output channels per group (OutRank); FLORA003 and FLORA004 read that shape.
/// </summary>
[Trait("Diagnostic", "FLORA003")]
public sealed class TransposedConvolutionRankTests
{
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
    public Task Transposed_convolutions_of_every_rank_are_supported_targets() =>
        Verify<TargetTypeAnalyzer>.AnalyzerAsync(Model("""
                [FloraTarget] private readonly ConvTranspose1d up1 = ConvTranspose1d(8, 4, 3, stride: 2);
                [FloraTarget] private readonly ConvTranspose2d up2 = ConvTranspose2d(8, 16, 3, stride: 2);
                [FloraTarget] public ConvTranspose3d Up3 { get; } = ConvTranspose3d(4, 4, 2, stride: 2);
            """));

    [Fact]
    public Task Rank_over_the_input_channels_names_mode_0_and_suggests_the_split() =>
        Verify<RankAnalyzer>.AnalyzerAsync(Model("""
                [FloraTarget({|#0:Rank = 8|})] private readonly ConvTranspose2d up = ConvTranspose2d(4, 16, 3, stride: 2);
            """),
            Verify<RankAnalyzer>.Diagnostic(FloraDiagnosticIds.RankExceedsMode).WithLocation(0)
                .WithMessage("Rank 8 of 'up' exceeds in_channels 4; it is clamped to 4. Use OutRank = 8, InRank = 4 to say so, or a Rank ≤ 4."));

    [Fact]
    public Task OutRank_is_checked_against_the_output_channels_per_group() =>
        Verify<RankAnalyzer>.AnalyzerAsync(Model("""
                [FloraTarget({|#0:OutRank = 3|}, InRank = 8)] private readonly ConvTranspose2d up = ConvTranspose2d(8, 4, 3, groups: 2);
            """),
            Verify<RankAnalyzer>.Diagnostic(FloraDiagnosticIds.RankExceedsMode).WithLocation(0)
                .WithMessage("OutRank 3 of 'up' exceeds out_channels/groups 2; it is clamped to 2. Use OutRank ≤ 2."));

    [Fact]
    public Task R3_over_a_transposed_kernel_is_FLORA004() =>
        Verify<RankAnalyzer>.AnalyzerAsync(Model("""
                [FloraTarget(Rank = 2, {|#0:R3 = 4|})] private readonly ConvTranspose1d up = ConvTranspose1d(4, 4, 3, stride: 2);
            """),
            Verify<RankAnalyzer>.Diagnostic(FloraDiagnosticIds.R3ExceedsKernel).WithLocation(0)
                .WithMessage("R3 4 of 'up' exceeds kernel axis 0 of size 3. Use R3 ≤ 3, or leave R3 unset to inherit it."));
}
