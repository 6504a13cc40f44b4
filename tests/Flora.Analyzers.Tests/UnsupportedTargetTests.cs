namespace Flora.Analyzers.Tests;

/// <summary>FLORA006: [FloraTarget] must be on an instance field or property holding a layer of the table (Linear, Conv1d/2d/3d, ConvTranspose1d/2d/3d, Embedding).</summary>
[Trait("Diagnostic", "FLORA006")]
public sealed class UnsupportedTargetTests
{
    private static DiagnosticResult Diagnostic() => Verify<TargetTypeAnalyzer>.Diagnostic(FloraDiagnosticIds.UnsupportedTarget);

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
    public Task A_layer_type_FLoRA_cannot_adapt_is_marked_on_the_member_name() =>
        Verify<TargetTypeAnalyzer>.AnalyzerAsync(Model("""
                [FloraTarget] private readonly BatchNorm2d {|#0:bn|} = BatchNorm2d(32);
            """),
            Diagnostic().WithLocation(0).WithMessage(
                "'bn' is of type BatchNorm2d, which FLoRA cannot adapt. FLoRA adapts instance fields and properties of type Linear, Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d, Embedding or MultiheadAttention."));

    [Fact]
    public Task A_static_target_is_marked() =>
        Verify<TargetTypeAnalyzer>.AnalyzerAsync(Model("""
                [FloraTarget] private static readonly Linear {|#0:shared|} = Linear(4, 4);
            """),
            Diagnostic().WithLocation(0).WithMessage(
                "'shared' is static. FLoRA adapts instance fields and properties of type Linear, Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d, Embedding or MultiheadAttention."));

    [Fact]
    public Task A_module_typed_member_built_by_something_else_has_no_visible_layer_type() =>
        Verify<TargetTypeAnalyzer>.AnalyzerAsync(Model("""
                [FloraTarget] public Module<Tensor, Tensor> {|#0:Body|} { get; } = Sequential(Linear(4, 4), ReLU());
                [FloraTarget] private readonly object {|#1:any|} = MakeLayer();
                private static object MakeLayer() => Linear(4, 4);
            """),
            Diagnostic().WithLocation(0).WithMessage(
                "'Body' has no layer type FLoRA can see at compile time: declare it with its layer type (Linear, Conv2d, …) or initialise it with torch.nn.Linear(...)/Conv2d(...). FLoRA adapts instance fields and properties of type Linear, Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d, Embedding or MultiheadAttention."),
            // The generator passes a target to TorchSharp as a Module<Tensor, Tensor>; an object-typed member cannot be.
            Diagnostic().WithLocation(1).WithArguments("any", "is typed object, which is not a Module<Tensor, Tensor>"));

    [Fact]
    public Task Non_layer_types_and_indexers_are_marked_transposed_convolutions_are_not() =>
        Verify<TargetTypeAnalyzer>.AnalyzerAsync(Model("""
                [FloraTarget] private readonly int {|#0:width|} = 4;
                [FloraTarget] private readonly ConvTranspose2d up = ConvTranspose2d(4, 4, 2);
                [FloraTarget] public Linear {|#2:this|}[int i] => Linear(4, 4);
            """),
            Diagnostic().WithLocation(0).WithArguments("width", "is typed int, which is not a Module<Tensor, Tensor>"),
            Diagnostic().WithLocation(2).WithArguments("this[]", "is an indexer"));

    [Fact]
    public Task A_target_typed_object_is_marked_because_it_cannot_be_passed_as_a_module() =>
        Verify<TargetTypeAnalyzer>.AnalyzerAsync(Model("""
                [FloraTarget] private readonly object {|#0:boxed|} = Linear(4, 2);
            """),
            Diagnostic().WithLocation(0).WithArguments("boxed", "is typed object, which is not a Module<Tensor, Tensor>"));

    [Fact]
    public Task Supported_layers_as_fields_properties_and_general_module_types_raise_nothing() =>
        Verify<TargetTypeAnalyzer>.AnalyzerAsync(Model("""
                [FloraTarget] private readonly Linear fc = Linear(4, 4);
                [FloraTarget] private Conv1d c1 = Conv1d(4, 4, 3);
                [FloraTarget] public Conv2d Stem { get; } = Conv2d(3, 6, (3, 5), padding: (1, 2));
                [FloraTarget] public Conv3d Volume { get; private set; } = Conv3d(2, 4, 3);
                [FloraTarget] public Module<Tensor, Tensor> Mix { get; set; } = Conv1d(6, 12, 3, padding: 1);
                [FloraTarget] private readonly Linear late;
                public Model(int width) : base(nameof(Model)) => late = Linear(width, width);
            """));

    [Fact]
    public Task A_MultiheadAttention_member_is_a_target_one_typed_as_a_general_module_is_not() =>
        // The generator passes the attention layer as itself (its call is not Tensor → Tensor): it needs its declared type.
        Verify<TargetTypeAnalyzer>.AnalyzerAsync(Model("""
                [FloraTarget] private readonly MultiheadAttention attn = MultiheadAttention(16, 4);
                [FloraTarget] public MultiheadAttention Cross { get; } = MultiheadAttention(8, 2, add_bias_kv: true);
                [FloraTarget] private readonly Module<Tensor, Tensor, Tensor, Tensor?, bool, Tensor?, System.Tuple<Tensor, Tensor>> {|FLORA006:general|} = MultiheadAttention(8, 2);
            """));
}
