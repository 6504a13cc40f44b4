namespace Flora.Analyzers.Tests;

/// <summary>FLORA010: forward() on a target that keeps its base layer skips the adapter's hook.</summary>
[Trait("Diagnostic", "FLORA010")]
public sealed class ForwardBypassTests
{
    private static DiagnosticResult Diagnostic() => Verify<ForwardBypassAnalyzer>.Diagnostic(FloraDiagnosticIds.ForwardBypassesAdapter);

    [Fact]
    public Task Forward_on_a_sealed_layer_target_is_marked() =>
        Verify<ForwardBypassAnalyzer>.AnalyzerAsync("""
            public partial class Model : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Conv2d conv = Conv2d(3, 8, 3, padding: 1);
                [FloraTarget] public Linear Head { get; } = Linear(8, 2);
                public Model() : base(nameof(Model)) => RegisterComponents();
                public override Tensor forward(Tensor x) => {|#1:Head.forward({|#0:conv.forward(x)|}.mean(new long[] { 2, 3 }))|};
            }
            """,
            Diagnostic().WithLocation(0).WithMessage("'conv.forward(x)' skips the adapter attached to 'conv': TorchSharp runs the hook that applies it only in call(x). Use 'conv.call(x)'."),
            Diagnostic().WithLocation(1).WithArguments("Head"));

    [Fact]
    public Task Call_forward_on_other_layers_and_targets_that_hold_the_wrapper_raise_nothing() =>
        Verify<ForwardBypassAnalyzer>.AnalyzerAsync("""
            public partial class Model : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Conv2d conv = Conv2d(3, 8, 3, padding: 1);
                [FloraTarget] public Module<Tensor, Tensor> Mix { get; set; } = Conv2d(8, 8, 1);
                private readonly BatchNorm2d bn = BatchNorm2d(8);
                public Model() : base(nameof(Model)) => RegisterComponents();
                public override Tensor forward(Tensor x) => Mix.forward(bn.forward(conv.call(x)));
            }
            """);
}
