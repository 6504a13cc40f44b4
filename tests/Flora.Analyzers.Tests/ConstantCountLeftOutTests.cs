using Flora.Generators;
using Microsoft.CodeAnalysis.CSharp;

namespace Flora.Analyzers.Tests;

/// <summary>
/// FLORA013 (info): under <c>SaveNormLayers = true</c> the generator leaves <c>FloraTrainableParameters</c> out when a member
/// keeps it from counting every norm layer of the tree (or a target or module to save has a run-time size); the
/// diagnostic names each such member. It is reported exactly when the generator leaves the constant out.
/// </summary>
[Trait("Diagnostic", "FLORA013")]
public sealed class ConstantCountLeftOutTests
{
    private const string Advice =
        ". SaveNormLayers trains every norm layer of the module tree, so the constant needs every member known at compile time; read TrainableParameters after AttachFlora() instead.";

    private static DiagnosticResult Diagnostic(int location, string reason) =>
        Verify<ConstantCountAnalyzer>.Diagnostic(FloraDiagnosticIds.ConstantCountLeftOut).WithLocation(location)
            .WithMessage("'Net' gets no FloraTrainableParameters: " + reason + Advice);

    private static string Net(string members, string attribute = "[FloraModel(Rank = 4, SaveNormLayers = true)]", string constructor = "", string baseType = "Module<Tensor, Tensor>") => $$"""
        {{attribute}}
        public partial class Net : {{baseType}}
        {
            [FloraTarget] private readonly Linear fc = Linear(16, 16);
        {{members}}
            public Net() : base(nameof(Net)) { {{constructor}} RegisterComponents(); }
            public override Tensor forward(Tensor x) => fc.call(x);
        }

        public class Block : Module<Tensor, Tensor>
        {
            private readonly BatchNorm1d bn = BatchNorm1d(4);
            public Block() : base(nameof(Block)) => RegisterComponents();
            public override Tensor forward(Tensor x) => bn.call(x);
        }

        [FloraModel(SaveNormLayers = false)]
        public partial class Inner : Module<Tensor, Tensor>
        {
            [FloraTarget] private readonly Linear fc = Linear(4, 4);
            public Inner() : base(nameof(Inner)) => RegisterComponents();
            public override Tensor forward(Tensor x) => fc.call(x);
        }

        public abstract class Trunk : Module<Tensor, Tensor>
        {
            protected Trunk(string name) : base(name) { }
        }
        """;

    [Fact]
    public Task Literal_norm_layers_and_leaf_layers_raise_nothing() =>
        Verify<ConstantCountAnalyzer>.AnalyzerAsync(Net("""
                private readonly BatchNorm2d bn = BatchNorm2d(8);
                private readonly Module<Tensor, Tensor> ln = LayerNorm(16);
                public GroupNorm Norm { get; } = GroupNorm(2, 8);
                public BatchNorm2d Bn => bn;
                private readonly ReLU relu = ReLU();
                private readonly Linear frozen;
                [FloraModuleToSave] private readonly Linear head = Linear(16, 2);
                private static int Width => 4;
            """, constructor: "frozen = Linear(Width, 4);"));

    [Fact]
    public Task A_Sequential_hides_its_modules() =>
        Verify<ConstantCountAnalyzer>.AnalyzerAsync(Net("""
                private readonly Sequential {|#0:body|} = Sequential(Linear(4, 4), BatchNorm1d(4));
                private readonly Module<Tensor, Tensor> {|#1:head|} = Sequential(Linear(4, 4), ReLU());
            """),
            Diagnostic(0, "'body' is a Sequential, whose modules the generator cannot see"),
            Diagnostic(1, "'head' is a Module<Tensor, Tensor>, whose modules the generator cannot see"));

    [Fact]
    public Task A_module_of_the_user_s_own_and_a_composite_TorchSharp_layer_hide_their_modules() =>
        Verify<ConstantCountAnalyzer>.AnalyzerAsync(Net("""
                private readonly Block {|#0:block|} = new Block();
                private readonly MultiheadAttention {|#1:attention|} = MultiheadAttention(8, 2);
            """),
            Diagnostic(0, "'block' is a Block, whose modules the generator cannot see"),
            Diagnostic(1, "'attention' is a MultiheadAttention, whose modules the generator cannot see"));

    [Fact]
    public Task Nested_Flora_models_the_compilation_does_not_pin_down_are_named_as_such() =>
        // A nested model created once with new counts (CountAgreementTests); one made elsewhere, or a list of them, does not.
        Verify<ConstantCountAnalyzer>.AnalyzerAsync(Net("""
                private readonly Inner counted = new Inner();
                private readonly Inner {|#0:inner|} = Build();
                private readonly ModuleList<Inner> {|#1:layers|} = ModuleList(new Inner());
                private static Inner Build() => new Inner();
            """),
            Diagnostic(0, "'inner' holds the nested Flora model Inner, whose trainable parameters the generator does not add up (it is not created once, with new, as a model of this compilation)"),
            Diagnostic(1, "'layers' holds nested Flora models (ModuleList<Inner>), whose trainable parameters the generator does not add up"));

    [Fact]
    public Task A_norm_layer_of_run_time_size_is_named() =>
        Verify<ConstantCountAnalyzer>.AnalyzerAsync(Net("""
                private readonly BatchNorm2d {|#0:bn|};
                public Net(int channels) : this() => bn = BatchNorm2d(channels);
            """),
            Diagnostic(0, "'bn' is a BatchNorm2d whose size is not a compile-time constant"));

    [Fact]
    public Task Targets_and_modules_to_save_of_run_time_size_are_named() =>
        Verify<ConstantCountAnalyzer>.AnalyzerAsync(Net("""
                [FloraTarget] private readonly Linear {|#0:proj|};
                [FloraModuleToSave] private readonly Linear {|#1:head|};
                public Net(int width) : this() { proj = Linear(width, 4); head = Linear(4, width); }
            """),
            Diagnostic(0, "the shape of target 'proj' is not a compile-time constant"),
            Diagnostic(1, "the size of module to save 'head' is not a compile-time constant"));

    [Fact]
    public Task A_base_class_of_the_user_s_own_is_named_on_the_model() =>
        Verify<ConstantCountAnalyzer>.AnalyzerAsync("""
            [FloraModel(SaveNormLayers = true)]
            public partial class {|#0:Net|} : Trunk
            {
                [FloraTarget] private readonly Linear fc = Linear(16, 16);
                public Net() : base(nameof(Net)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.call(x);
            }

            public abstract class Trunk : Module<Tensor, Tensor>
            {
                protected Trunk(string name) : base(name) { }
            }
            """,
            Diagnostic(0, "'Net' derives from 'Trunk', whose modules the generator does not read"));

    [Fact]
    public Task Modules_registered_by_name_are_named_at_the_call() =>
        Verify<ConstantCountAnalyzer>.AnalyzerAsync(Net("", constructor: """{|#0:register_module("extra", BatchNorm1d(4))|};"""),
            Diagnostic(0, "'Net' registers a module with register_module(...), which the generator cannot see"));

    [Theory]
    [InlineData("[FloraModel(Rank = 4)]")]
    [InlineData("[FloraModel(Rank = 4, SaveNormLayers = false)]")]
    public Task Without_SaveNormLayers_nothing_is_reported(string attribute) =>
        Verify<ConstantCountAnalyzer>.AnalyzerAsync(Net("""
                private readonly Sequential body = Sequential(Linear(4, 4), BatchNorm1d(4));
                [FloraTarget] private readonly Linear proj;
                public Net(int width) : this() => proj = Linear(width, 4);
            """, attribute));

    [Fact]
    public Task A_model_the_generator_does_not_extend_gets_nothing() =>
        // FLORA001 reports it; without generated members there is no constant to explain.
        Verify<ConstantCountAnalyzer>.AnalyzerAsync("""
            [FloraModel(SaveNormLayers = true)]
            public class Net : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Linear fc = Linear(16, 16);
                private readonly Sequential body = Sequential(Linear(4, 4));
                public Net() : base(nameof(Net)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.call(x);
            }
            """);

    /// <summary>Models under SaveNormLayers, with and without what keeps the constant out.</summary>
    public static TheoryData<string> Models() => new()
    {
        Net("private readonly BatchNorm2d bn = BatchNorm2d(8);"),
        Net("private readonly Sequential body = Sequential(BatchNorm1d(4));"),
        Net("private readonly InstanceNorm2d inorm = InstanceNorm2d(8, affine: true);\nprivate readonly Dropout drop = Dropout(0.5);"),
        Net("private readonly BatchNorm2d bn;\npublic Net(int c) : this() => bn = BatchNorm2d(c);"),
        Net("private readonly Inner inner = new Inner();"),
        Net("", constructor: "register_module(\"extra\", ReLU());"),
        Net("[FloraModuleToSave] private readonly Block block = new Block();"),
        Net("[FloraModuleToSave] private readonly BatchNorm2d bn = BatchNorm2d(8);\npublic Block Alias => new Block();"),
        Net("", baseType: "Trunk"),
    };

    [Theory]
    [MemberData(nameof(Models))]
    public async Task FLORA013_is_reported_exactly_when_the_generator_leaves_the_constant_out(string source)
    {
        var compilation = TestReferences.Compile(source);
        CSharpGeneratorDriver.Create(new FloraGenerator()).RunGeneratorsAndUpdateCompilation(compilation, out var output, out _);
        bool hasConstant = output.GetTypeByMetadataName("Net")!.GetMembers("FloraTrainableParameters").Any();
        var diagnostics = await compilation.WithAnalyzers(ImmutableArray.Create<DiagnosticAnalyzer>(new ConstantCountAnalyzer())).GetAnalyzerDiagnosticsAsync();
        Assert.Equal(!hasConstant, diagnostics.Any(d => d.Id == FloraDiagnosticIds.ConstantCountLeftOut));
    }
}
