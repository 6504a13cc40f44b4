namespace Flora.Analyzers.Tests;

/// <summary>Valid models, as users write them (tests/Flora.EndToEnd.Tests/Models.cs), raise nothing from any Flora analyzer.</summary>
public sealed class ValidModelsTests
{
    /// <summary>
    /// The end-to-end test models, with README's SmallCnn and its <c>#pragma warning disable FLORA003</c>, and the choice
    /// FLORA012 asks of a model with a BatchNorm (<c>SaveNormLayers = false</c>: its statistics stay frozen).
    /// </summary>
    internal const string EndToEndModels = """
        namespace Flora.EndToEnd.Tests
        {
            [FloraModel(Rank = 8, R3 = 2, Scale = 0.4, MaxTrainableParameters = 200_000, SaveNormLayers = false)]
            public partial class SmallCnn : Module<Tensor, Tensor>
            {
            #pragma warning disable FLORA003 // README's SmallCnn as written: Rank 16 exceeds conv1's single input channel, so r_in is clamped to 1.
                [FloraTarget(Rank = 16, R3 = 2)] private readonly Conv2d conv1 = Conv2d(1, 32, 3, padding: 1);
            #pragma warning restore FLORA003
                [FloraTarget] private readonly Conv2d conv2 = Conv2d(32, 64, 3, padding: 1);
                [FloraTarget(Rank = 4)] private readonly Linear head = Linear(64, 10);
                private readonly BatchNorm2d bn = BatchNorm2d(32);

                public SmallCnn() : base(nameof(SmallCnn)) => RegisterComponents();

                public override Tensor forward(Tensor x)
                {
                    using var scope = NewDisposeScope();
                    var h = functional.relu(bn.call(conv1.call(x)));
                    h = functional.relu(conv2.call(h));
                    return head.call(h.mean(new long[] { 2, 3 })).MoveToOuterDisposeScope();
                }
            }

            public partial class PropertyModel : Module<Tensor, Tensor>
            {
                private const int Width = 6;

                [FloraTarget(R3 = 1)] public Conv2d Stem { get; } = Conv2d(3, Width, (3, 5), padding: (1, 2));
                [FloraTarget(OutRank = 2, InRank = 3)] public Module<Tensor, Tensor> Mix { get; set; } = Conv1d(Width, 2 * Width, 3, padding: 1);
                [FloraTarget] private Linear _head = Linear(2 * Width, 4);

                public PropertyModel() : base(nameof(PropertyModel)) => RegisterComponents();

                public override Tensor forward(Tensor x)
                {
                    using var scope = NewDisposeScope();
                    var h = Stem.call(x);
                    h = Mix.call(h.mean(new long[] { 3 }));
                    return _head.call(h.mean(new long[] { 2 })).MoveToOuterDisposeScope();
                }
            }

            public partial class RuntimeShapes : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Linear fc;
                [FloraTarget(R3 = 3)] private readonly Conv3d conv;

                public RuntimeShapes(int width) : base(nameof(RuntimeShapes))
                {
                    fc = Linear(width, width);
                    conv = Conv3d(2, width, 3, padding: 1);
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x) => fc.call(conv.call(x).mean(new long[] { 2, 3, 4 }));
            }

            public static partial class Outer
            {
                public partial class Nested<T> : Module<Tensor, Tensor>
                {
                    [FloraTarget] private readonly Conv2d dw = Conv2d(8, 8, 7, padding: 3, groups: 8);

                    public Nested() : base("Nested") => RegisterComponents();

                    public T? Tag { get; set; }

                    public override Tensor forward(Tensor x) => dw.call(x);
                }
            }
        }
        """;

    [Fact]
    public Task The_end_to_end_models_raise_nothing() =>
        VerifyAll.AnalyzerAsync(EndToEndModels, TestBehaviors.SkipSuppressionCheck);

    [Fact]
    public Task A_ConvNeXt_style_block_with_inherited_ranks_raises_nothing() =>
        VerifyAll.AnalyzerAsync("""
            [FloraModel(Rank = 16, R3 = 2, MaxTrainableParameters = 100_000)]
            public sealed partial class Block : Module<Tensor, Tensor>
            {
                private const int Dim = 32;
                [FloraTarget] private readonly Conv2d stem = Conv2d(1, Dim, 4, stride: 4);
                [FloraTarget] private readonly Conv2d dw = Conv2d(Dim, Dim, 7, padding: 3, groups: Dim);
                [FloraTarget] private readonly Linear pw1 = Linear(Dim, 4 * Dim);
                [FloraTarget] private readonly Linear pw2 = Linear(4 * Dim, Dim);
                [FloraTarget(R3 = 1)] private readonly Conv2d down = Conv2d(Dim, 2 * Dim, 2, stride: 2);
                [FloraTarget(Rank = 10, Scale = 4)] private readonly Linear head = Linear(2 * Dim, 10);
                private readonly LayerNorm norm = LayerNorm(Dim);

                public Block() : base(nameof(Block)) => RegisterComponents();

                public override Tensor forward(Tensor x)
                {
                    var h = dw.call(stem.call(x)).permute(0, 2, 3, 1);
                    h = pw2.call(functional.gelu(pw1.call(norm.call(h)))).permute(0, 3, 1, 2);
                    return head.call(down.call(h).mean(new long[] { 2, 3 }));
                }
            }
            """);

    [Fact]
    public Task Transfer_learning_with_modules_to_save_and_LoRA_ranks_raises_nothing() =>
        // Budget: stem Conv2d(3, 16, 3) ranks (4, 3, 1, 1): 12 + 64 + 9 + 3 + 3 = 91; fc Linear(64, 64) ranks (4, 4):
        // 16 + 256 + 256 = 528; head 64·10 + 10 = 650; bn 32; ln LayerNorm([4, 16]) 128 (SaveNormLayers). Total 1,429.
        VerifyAll.AnalyzerAsync("""
            [FloraModel(Rank = 4, LoraRank = 8, LoraAlpha = 16, SaveNormLayers = true, MaxTrainableParameters = 1_429)]
            public partial class Transfer : Module<Tensor, Tensor>
            {
                [FloraTarget(LoraRank = 9, LoraAlpha = 0.5)] private readonly Conv2d stem = Conv2d(3, 16, 3, padding: 1);
                [FloraTarget(LoraRank = 0)] private readonly Linear fc = Linear(64, 64);
                [FloraModuleToSave] public Linear Head { get; set; } = Linear(64, 10);
                [FloraModuleToSave] private readonly BatchNorm2d bn = BatchNorm2d(16);
                private readonly LayerNorm ln = LayerNorm(new long[] { 4, 16 });

                public Transfer() : base(nameof(Transfer)) => RegisterComponents();

                public override Tensor forward(Tensor x)
                {
                    var h = functional.relu(bn.call(stem.call(x))).mean(new long[] { 2, 3 });
                    return Head.call(fc.call(h.repeat(1, 4)));
                }
            }

            public partial class Probe : Module<Tensor, Tensor>
            {
                [FloraModuleToSave] private readonly Linear head;
                [FloraModuleToSave] private readonly Module<Tensor, Tensor> body = Sequential(Linear(8, 8), ReLU());

                public Probe(int classes) : base(nameof(Probe))
                {
                    head = Linear(8, classes);
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x) => head.call(body.call(x));
            }
            """);
}
