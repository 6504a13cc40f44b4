namespace Flora.Analyzers.Tests;

/// <summary>
/// FLORA012: a Flora model with a norm layer that keeps running statistics (BatchNorm, or InstanceNorm created with
/// <c>track_running_stats: true</c>) must say whether SaveNormLayers trains it; reported on each such member.
/// </summary>
[Trait("Diagnostic", "FLORA012")]
public sealed class UnsavedNormLayerTests
{
    private const string Tail =
        " keeps running statistics: while adapters are attached it runs in eval mode, its base (e.g. ImageNet) statistics frozen. Set SaveNormLayers = true on [FloraModel] to train and save it, or SaveNormLayers = false to keep it frozen and silence this.";

    private static DiagnosticResult Diagnostic(int location, string member, string layer) =>
        Verify<NormLayerAnalyzer>.Diagnostic(FloraDiagnosticIds.UnsavedNormLayer).WithLocation(location)
            .WithMessage($"'{member}' ({layer})" + Tail);

    private static string Model(string members, string attribute = "[FloraModel(Rank = 4)]") => $$"""
        {{attribute}}
        public partial class Net : Module<Tensor, Tensor>
        {
            [FloraTarget] private readonly Linear fc = Linear(16, 16);
        {{members}}
            public Net() : base(nameof(Net)) => RegisterComponents();
            public override Tensor forward(Tensor x) => fc.call(x);
        }
        """;

    [Fact]
    public Task README_s_SmallCnn_names_its_BatchNorm() =>
        Verify<NormLayerAnalyzer>.AnalyzerAsync("""
            [FloraModel(Rank = 8, R3 = 2, Scale = 0.4, MaxTrainableParameters = 200_000)]
            public partial class SmallCnn : Module<Tensor, Tensor>
            {
                [FloraTarget(Rank = 16, R3 = 2)] private readonly Conv2d conv1 = Conv2d(1, 32, 3, padding: 1);
                [FloraTarget]                    private readonly Conv2d conv2 = Conv2d(32, 64, 3, padding: 1);
                [FloraTarget(Rank = 4)]          private readonly Linear head  = Linear(64, 10);
                private readonly BatchNorm2d {|#0:bn|} = BatchNorm2d(32);
                public SmallCnn() : base(nameof(SmallCnn)) => RegisterComponents();
                public override Tensor forward(Tensor x) => head.call(conv2.call(bn.call(conv1.call(x))).mean(new long[] { 2, 3 }));
            }
            """,
            Diagnostic(0, "bn", "BatchNorm2d"));

    [Theory]
    [InlineData("[FloraModel(SaveNormLayers = true)]")]
    [InlineData("[FloraModel(Rank = 4, SaveNormLayers = false)]")]
    public Task An_explicit_choice_either_way_silences_it(string attribute) =>
        Verify<NormLayerAnalyzer>.AnalyzerAsync(Model("""
                private readonly BatchNorm2d bn = BatchNorm2d(8);
                private readonly InstanceNorm1d inorm = InstanceNorm1d(8, track_running_stats: true);
            """, attribute));

    [Fact]
    public Task Every_member_that_holds_one_is_reported_once() =>
        Verify<NormLayerAnalyzer>.AnalyzerAsync(Model("""
                private readonly BatchNorm1d {|#0:bn1|} = BatchNorm1d(8), {|#1:bn1b|} = BatchNorm1d(4);
                public BatchNorm3d {|#2:Bn3|} { get; } = BatchNorm3d(2);
                private readonly Module<Tensor, Tensor> {|#3:norm|} = BatchNorm2d(6);
                private readonly BatchNorm2d {|#4:late|};
                public BatchNorm1d Alias => bn1;
                private readonly InstanceNorm2d {|#5:inorm|} = InstanceNorm2d(8, affine: true, track_running_stats: true);
                private static bool Tracks => true;
                private readonly BatchNorm2d {|#6:maybe|} = BatchNorm2d(8, track_running_stats: Tracks);
            """) + "\npartial class Net { public Net(int c) : this() => late = BatchNorm2d(c); }",
            Diagnostic(0, "bn1", "BatchNorm1d"),
            Diagnostic(1, "bn1b", "BatchNorm1d"),
            Diagnostic(2, "Bn3", "BatchNorm3d"),
            Diagnostic(3, "norm", "BatchNorm2d"),
            Diagnostic(4, "late", "BatchNorm2d"),
            Diagnostic(5, "inorm", "InstanceNorm2d, track_running_stats: true"),
            Diagnostic(6, "maybe", "BatchNorm2d"));

    [Fact]
    public Task Layers_without_running_statistics_and_members_already_decided_are_not_reported() =>
        Verify<NormLayerAnalyzer>.AnalyzerAsync(Model("""
                private readonly BatchNorm2d batchStatsOnly = BatchNorm2d(8, track_running_stats: false);
                private readonly InstanceNorm2d inorm = InstanceNorm2d(8);
                private readonly InstanceNorm2d inormAffine = InstanceNorm2d(8, affine: true);
                private readonly LayerNorm ln = LayerNorm(8);
                private readonly GroupNorm gn = GroupNorm(2, 8);
                [FloraModuleToSave] private readonly BatchNorm2d saved = BatchNorm2d(8);
                private static readonly BatchNorm2d shared = BatchNorm2d(8);
                private readonly Sequential body = Sequential(Linear(4, 4), BatchNorm1d(4));
                private readonly Module<Tensor, Tensor> unknown = Sequential(BatchNorm1d(4));
            """));

    [Fact]
    public Task A_model_with_only_targets_or_only_modules_to_save_is_a_model_too() =>
        Verify<NormLayerAnalyzer>.AnalyzerAsync("""
            public partial class Targets : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Linear fc = Linear(16, 16);
                private readonly BatchNorm1d {|#0:bn|} = BatchNorm1d(16);
                public Targets() : base(nameof(Targets)) => RegisterComponents();
                public override Tensor forward(Tensor x) => bn.call(fc.call(x));
            }

            public partial class Saved : Module<Tensor, Tensor>
            {
                [FloraModuleToSave] private readonly Linear head = Linear(16, 2);
                private readonly BatchNorm1d {|#1:bn|} = BatchNorm1d(16);
                public Saved() : base(nameof(Saved)) => RegisterComponents();
                public override Tensor forward(Tensor x) => head.call(bn.call(x));
            }

            public class Plain : Module<Tensor, Tensor>
            {
                private readonly BatchNorm1d bn = BatchNorm1d(16);
                public Plain() : base(nameof(Plain)) => RegisterComponents();
                public override Tensor forward(Tensor x) => bn.call(x);
            }
            """,
            Diagnostic(0, "bn", "BatchNorm1d"),
            Diagnostic(1, "bn", "BatchNorm1d"));

    [Fact]
    public Task A_BatchNorm_target_is_left_to_FLORA006() =>
        Verify<NormLayerAnalyzer>.AnalyzerAsync(Model("    [FloraTarget] private readonly BatchNorm2d bn = BatchNorm2d(8);"));
}
