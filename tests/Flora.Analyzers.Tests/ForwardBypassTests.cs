using System.Threading;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Testing;

namespace Flora.Analyzers.Tests;

/// <summary>
/// FLORA010: forward() on a target that keeps its base layer skips the adapter's hook, unless the generator intercepts
/// the call (inside the model, on the member itself, with interception on); the message says why it does not.
/// </summary>
[Trait("Diagnostic", "FLORA010")]
public sealed class ForwardBypassTests
{
    private const string NotEnabled = "interception is not enabled in this compilation (InterceptorsNamespaces lacks Flora.Generated.Interceptors; it needs the Flora package's build targets and the .NET 9 SDK or later)";

    private static DiagnosticResult Diagnostic() => Verify<ForwardBypassAnalyzer>.Diagnostic(FloraDiagnosticIds.ForwardBypassesAdapter);

    private static string Message(string member, string reason) =>
        $"'{member}.forward(x)' skips the adapter attached to '{member}' (TorchSharp runs its hook only in call(x)) and is not intercepted: {reason}. Use '{member}.call(x)'.";

    private const string Model = """
        public partial class Model : Module<Tensor, Tensor>
        {
            [FloraTarget] private readonly Conv2d conv = Conv2d(3, 8, 3, padding: 1);
            [FloraTarget] public Linear Head { get; } = Linear(8, 2);
            public Model() : base(nameof(Model)) => RegisterComponents();
            public override Tensor forward(Tensor x) => {|#1:Head.forward({|#0:conv.forward(x)|}.mean(new long[] { 2, 3 }))|};
        }
        """;

    [Fact]
    public Task Without_interception_forward_on_a_sealed_layer_target_is_marked() =>
        Verify<ForwardBypassAnalyzer>.AnalyzerAsync(Model,
            Diagnostic().WithLocation(0).WithMessage(Message("conv", NotEnabled)),
            Diagnostic().WithLocation(1).WithArguments("Head", NotEnabled));

    [Fact]
    public Task With_interception_on_calls_inside_the_model_raise_nothing() =>
        RunAsync(Model.Replace("{|#1:", "").Replace("{|#0:", "").Replace("|}", ""), interceptorsNamespaces: "Flora.Generated.Interceptors", property: "true");

    [Fact]
    public Task A_parent_namespace_in_InterceptorsNamespaces_enables_it_too() =>
        RunAsync(Model.Replace("{|#1:", "").Replace("{|#0:", "").Replace("|}", ""), interceptorsNamespaces: "Other.Ns;Flora", property: null);

    [Fact]
    public Task The_opt_out_property_says_interception_is_off() =>
        RunAsync(Model, "Flora.Generated.Interceptors", "false",
            Diagnostic().WithLocation(0).WithMessage(Message("conv", "interception is off in this project (FloraInterceptForward is false)")),
            Diagnostic().WithLocation(1).WithArguments("Head", "interception is off in this project (FloraInterceptForward is false)"));

    [Fact]
    public Task Calls_that_cannot_be_intercepted_say_why_even_with_interception_on() =>
        RunAsync("""
            public partial class Model : Module<Tensor, Tensor>
            {
                [FloraTarget] public Conv2d Conv { get; } = Conv2d(3, 8, 3, padding: 1);
                [FloraTarget] private readonly Linear head = Linear(8, 2);
                public Model() : base(nameof(Model)) => RegisterComponents();
                public override Tensor forward(Tensor x)
                {
                    var layer = head;
                    return {|#0:layer.forward(Conv.forward(x).mean(new long[] { 2, 3 }))|} + {|#1:head?.forward(x)|}!;
                }
            }

            public static class Outside
            {
                public static Tensor Run(Model model, Tensor x) => {|#2:model.Conv.forward(x)|};
            }

            public partial class Derived : Model
            {
                public Tensor Again(Tensor x) => {|#3:Conv.forward(x)|};
            }
            """, "Flora.Generated.Interceptors", "true",
            Diagnostic().WithLocation(0).WithMessage(Message("head", "the call goes through the local 'layer', and the generator intercepts only calls on the member itself")),
            Diagnostic().WithLocation(1).WithMessage(Message("head", "a conditional call ('?.') is not intercepted")),
            Diagnostic().WithLocation(2).WithMessage(Message("Conv", "the call is outside 'Model', and the generator intercepts forward calls only inside the type that declares the target")),
            Diagnostic().WithLocation(3).WithArguments("Conv", "the call is outside 'Model', and the generator intercepts forward calls only inside the type that declares the target"));

    [Fact]
    public Task A_get_only_module_typed_target_keeps_its_base_layer_and_is_marked() =>
        Verify<ForwardBypassAnalyzer>.AnalyzerAsync("""
            public partial class Model : Module<Tensor, Tensor>
            {
                [FloraTarget] public Module<Tensor, Tensor> Fixed { get; } = Conv2d(8, 8, 1);
                public Model() : base(nameof(Model)) => RegisterComponents();
                public override Tensor forward(Tensor x) => {|#0:Fixed.forward(x)|};
            }
            """,
            Diagnostic().WithLocation(0).WithArguments("Fixed", NotEnabled));

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

    /// <summary>The analyzer with the compiler's InterceptorsNamespaces feature and the compiler-visible property as a build sets them.</summary>
    [Fact]
    public Task Forward_of_several_inputs_on_a_MultiheadAttention_target_is_never_intercepted() =>
        // Its adapters are reached through hooks on the base layer, which its call(…) runs; the generator intercepts only forward(x).
        RunAsync("""
            public partial class Model : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly MultiheadAttention attn = MultiheadAttention(16, 4);
                public Model() : base(nameof(Model)) => RegisterComponents();
                public override Tensor forward(Tensor x) => {|#0:attn.forward(x, x, x, null, false, null)|}.Item1 + attn.call(x, x, x, null, false, null).Item1;
            }
            """, interceptorsNamespaces: "Flora.Generated.Interceptors", property: "true",
            Diagnostic().WithLocation(0).WithArguments("attn", "the generator intercepts only one-tensor forward(x) calls, and this one takes several inputs"));

    private static Task RunAsync(string source, string? interceptorsNamespaces, string? property, params DiagnosticResult[] expected)
    {
        var test = new Verify<ForwardBypassAnalyzer>.Test { TestCode = TestReferences.Header + source };
        if (property is not null)
            test.TestState.AnalyzerConfigFiles.Add(("/.globalconfig", "is_global = true\nbuild_property.FloraInterceptForward = " + property + "\n"));
        if (interceptorsNamespaces is not null)
            test.SolutionTransforms.Add((solution, projectId) => solution.WithProjectParseOptions(projectId,
                TestReferences.ParseOptions.WithFeatures(new[] { new KeyValuePair<string, string>("InterceptorsNamespaces", interceptorsNamespaces) })));
        test.ExpectedDiagnostics.AddRange(expected);
        return test.RunAsync(CancellationToken.None);
    }
}
