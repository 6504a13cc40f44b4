namespace Flora.Analyzers.Tests;

/// <summary>FLORA009: a type with Flora attributes must derive from TorchSharp's Module.</summary>
[Trait("Diagnostic", "FLORA009")]
public sealed class NotAModuleTests
{
    private static DiagnosticResult Diagnostic() => Verify<TargetTypeAnalyzer>.Diagnostic(FloraDiagnosticIds.NotAModule);

    [Fact]
    public Task A_model_that_is_not_a_module_is_marked_on_its_name() =>
        Verify<TargetTypeAnalyzer>.AnalyzerAsync("""
            [FloraModel(Rank = 4)]
            public partial class {|#0:Settings|}
            {
            }
            """,
            Diagnostic().WithLocation(0).WithMessage(
                "'Settings' has Flora attributes but is not a TorchSharp Module; derive it from Module<Tensor, Tensor> (or another torch.nn.Module)."));

    [Fact]
    public Task A_class_with_targets_but_no_module_base_is_marked() =>
        Verify<TargetTypeAnalyzer>.AnalyzerAsync("""
            public partial class {|FLORA009:Holder|}
            {
                [FloraTarget] private readonly Linear fc = Linear(4, 4);
                public Tensor Run(Tensor x) => fc.call(x);
            }
            """);

    [Fact]
    public Task A_user_class_named_Module_is_not_TorchSharp_s() =>
        Verify<TargetTypeAnalyzer>.AnalyzerAsync("""
            namespace Mine
            {
                public abstract class Module { }

                [FloraModel]
                public partial class {|FLORA009:Model|} : Module
                {
                    [FloraTarget] private readonly Linear fc = Linear(4, 4);
                }
            }
            """);

    [Fact]
    public Task A_record_and_a_struct_with_targets_are_marked() =>
        Verify<TargetTypeAnalyzer>.AnalyzerAsync("""
            public partial record {|FLORA009:Config|}
            {
                [FloraTarget] public Linear Fc { get; init; } = Linear(4, 4);
            }

            public partial struct {|FLORA009:Pair|}
            {
                [FloraTarget] public Linear Fc;
                public Pair() { Fc = Linear(4, 4); }
            }
            """);

    [Fact]
    public Task Modules_of_every_form_raise_nothing() =>
        Verify<TargetTypeAnalyzer>.AnalyzerAsync("""
            [FloraModel]
            public partial class One : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Linear fc = Linear(4, 4);
                public One() : base(nameof(One)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.call(x);
            }

            [FloraModel]
            public partial class Two : Module<Tensor, Tensor, Tensor>
            {
                [FloraTarget] private readonly Linear fc = Linear(4, 4);
                public Two() : base(nameof(Two)) => RegisterComponents();
                public override Tensor forward(Tensor x, Tensor y) => fc.call(x + y);
            }

            public abstract class Backbone : Module<Tensor, Tensor>
            {
                protected Backbone(string name) : base(name) { }
            }

            [FloraModel]
            public partial class Derived : Backbone
            {
                [FloraTarget] private readonly Conv2d conv = Conv2d(3, 8, 3);
                public Derived() : base(nameof(Derived)) => RegisterComponents();
                public override Tensor forward(Tensor x) => conv.call(x);
            }

            public partial class Untyped : TorchSharp.torch.nn.Module
            {
                [FloraTarget] private readonly Linear fc = Linear(4, 4);
                public Untyped() : base(nameof(Untyped)) => RegisterComponents();
            }
            """);
}
