namespace Flora.Analyzers.Tests;

/// <summary>FLORA005: R3 set on a Linear target has no effect.</summary>
[Trait("Diagnostic", "FLORA005")]
public sealed class R3OnLinearTests
{
    private static DiagnosticResult Diagnostic() => Verify<RankAnalyzer>.Diagnostic(FloraDiagnosticIds.R3OnLinear);

    [Fact]
    public Task R3_on_a_Linear_field_is_marked_with_the_member() =>
        Verify<RankAnalyzer>.AnalyzerAsync("""
            public partial class Model : Module<Tensor, Tensor>
            {
                [FloraTarget(Rank = 4, {|#0:R3 = 1|})] private readonly Linear fc = Linear(8, 4);
                public Model() : base(nameof(Model)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.call(x);
            }
            """,
            Diagnostic().WithLocation(0).WithMessage("R3 is set on 'fc', a Linear layer without kernel axes; it has no effect. Remove it."));

    [Fact]
    public Task R3_on_a_Linear_whose_shape_is_known_only_at_run_time_or_typed_as_a_module() =>
        Verify<RankAnalyzer>.AnalyzerAsync("""
            public partial class Model : Module<Tensor, Tensor>
            {
                [FloraTarget({|FLORA005:R3 = 2|})] private readonly Linear fc;
                [FloraTarget({|FLORA005:R3 = 3|})] public Module<Tensor, Tensor> Head { get; set; } = Linear(4, 2);
                public Model(int width) : base(nameof(Model))
                {
                    fc = Linear(width, 4);
                    RegisterComponents();
                }
                public override Tensor forward(Tensor x) => Head.call(fc.call(x));
            }
            """);

    [Fact]
    public Task R3_on_a_Linear_comes_with_its_rank_warning() =>
        Verify<RankAnalyzer>.AnalyzerAsync("""
            public partial class Model : Module<Tensor, Tensor>
            {
                [FloraTarget({|FLORA003:Rank = 64|}, {|FLORA005:R3 = 2|})] private readonly Linear fc = Linear(16, 10);
                public Model() : base(nameof(Model)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.call(x);
            }
            """);

    [Theory]
    [InlineData("Embedding emb = Embedding(100, 32)", "emb.call(x)", "R3 is set on 'emb', an Embedding layer without kernel axes; it has no effect. Remove it.")]
    [InlineData("MultiheadAttention attn = MultiheadAttention(16, 4)", "attn.call(x, x, x, null, false, null).Item1",
        "R3 is set on 'attn', a MultiheadAttention layer without kernel axes; it has no effect. Remove it.")]
    public Task R3_on_another_layer_without_kernel_axes_is_FLORA005_naming_the_kind(string member, string forward, string message) =>
        Verify<RankAnalyzer>.AnalyzerAsync("public partial class Model : Module<Tensor, Tensor>\n{\n"
                                           + "    [FloraTarget(Rank = 4, {|#0:R3 = 2|})] private readonly " + member + ";\n"
                                           + "    public Model() : base(nameof(Model)) => RegisterComponents();\n"
                                           + "    public override Tensor forward(Tensor x) => " + forward + ";\n}\n",
            Diagnostic().WithLocation(0).WithMessage(message));

    [Fact]
    public Task A_rank_beyond_an_Embeddings_dim_is_FLORA003_naming_embedding_dim() =>
        Verify<RankAnalyzer>.AnalyzerAsync("""
            public partial class Model : Module<Tensor, Tensor>
            {
                [FloraTarget(OutRank = 8, {|FLORA003:InRank = 64|})] private readonly Embedding emb = Embedding(100, 32);
                public Model() : base(nameof(Model)) => RegisterComponents();
                public override Tensor forward(Tensor x) => emb.call(x);
            }
            """);

    [Fact]
    public Task A_model_wide_R3_and_R3_on_convolutions_raise_nothing() =>
        Verify<RankAnalyzer>.AnalyzerAsync("""
            [FloraModel(R3 = 3)]
            public partial class Model : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Linear fc = Linear(16, 10);
                [FloraTarget(R3 = 1)] private readonly Conv1d conv = Conv1d(4, 16, 3);
                public Model() : base(nameof(Model)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.call(conv.call(x).mean(new long[] { 2 }));
            }
            """);
}
