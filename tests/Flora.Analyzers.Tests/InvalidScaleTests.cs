namespace Flora.Analyzers.Tests;

/// <summary>FLORA007: Scale must be a finite number greater than 0, on targets and models.</summary>
[Trait("Diagnostic", "FLORA007")]
public sealed class InvalidScaleTests
{
    private static DiagnosticResult Diagnostic() => Verify<RankAnalyzer>.Diagnostic(FloraDiagnosticIds.InvalidScale);

    [Fact]
    public Task A_zero_scale_on_a_target_is_marked_with_value_and_member() =>
        Verify<RankAnalyzer>.AnalyzerAsync("""
            public partial class Model : Module<Tensor, Tensor>
            {
                [FloraTarget({|#0:Scale = 0|})] private readonly Linear fc = Linear(8, 4);
                public Model() : base(nameof(Model)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.call(x);
            }
            """,
            Diagnostic().WithLocation(0)
                .WithMessage("Scale 0 of 'fc' is not a finite number greater than 0. Use a positive scale such as the paper's 0.4."));

    [Fact]
    public Task Negative_NaN_and_infinite_scales_are_marked_on_targets_and_models() =>
        Verify<RankAnalyzer>.AnalyzerAsync("""
            [FloraModel({|#0:Scale = -1|})]
            public partial class Model : Module<Tensor, Tensor>
            {
                [FloraTarget({|#1:Scale = double.NaN|})] private readonly Linear a = Linear(8, 4);
                [FloraTarget({|#2:Scale = double.PositiveInfinity|})] private readonly Linear b = Linear(8, 4);
                [FloraTarget(Rank = 2, {|#3:Scale = -0.5|})] private readonly Conv2d c = Conv2d(3, 4, 3);
                [FloraTarget({|#4:Scale = double.NegativeInfinity|})] private readonly Linear d = Linear(8, 4);
                public Model() : base(nameof(Model)) => RegisterComponents();
                public override Tensor forward(Tensor x) => x;
            }
            """,
            Diagnostic().WithLocation(0).WithArguments("Scale", "-1", "Model", DiagnosticDescriptors.ScaleAdvice),
            Diagnostic().WithLocation(1).WithArguments("Scale", "NaN", "a", DiagnosticDescriptors.ScaleAdvice),
            Diagnostic().WithLocation(2).WithArguments("Scale", "Infinity", "b", DiagnosticDescriptors.ScaleAdvice),
            Diagnostic().WithLocation(3).WithArguments("Scale", "-0.5", "c", DiagnosticDescriptors.ScaleAdvice),
            Diagnostic().WithLocation(4).WithArguments("Scale", "-Infinity", "d", DiagnosticDescriptors.ScaleAdvice));

    [Fact]
    public Task An_invalid_scale_stops_the_shape_checks_of_its_target() =>
        Verify<RankAnalyzer>.AnalyzerAsync("""
            public partial class Model : Module<Tensor, Tensor>
            {
                [FloraTarget(Rank = 64, {|FLORA007:Scale = 0|})] private readonly Linear fc = Linear(8, 4);
                public Model() : base(nameof(Model)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.call(x);
            }
            """);

    [Fact]
    public Task Small_large_and_integer_scales_raise_nothing() =>
        Verify<RankAnalyzer>.AnalyzerAsync("""
            [FloraModel(Scale = 4)]
            public partial class Model : Module<Tensor, Tensor>
            {
                [FloraTarget(Scale = 0.04)] private readonly Linear a = Linear(8, 4);
                [FloraTarget(Scale = 1e-9)] private readonly Linear b = Linear(8, 4);
                [FloraTarget(Scale = double.Epsilon)] private readonly Linear c = Linear(8, 4);
                [FloraTarget(Scale = double.MaxValue)] private readonly Linear d = Linear(8, 4);
                [FloraTarget] private readonly Linear e = Linear(8, 4);
                public Model() : base(nameof(Model)) => RegisterComponents();
                public override Tensor forward(Tensor x) => x;
            }
            """);
}
