namespace Flora.Analyzers.Tests;

/// <summary>FLORA001: a Flora model and every type containing it must be partial.</summary>
[Trait("Diagnostic", "FLORA001")]
public sealed class NotPartialTests
{
    private static DiagnosticResult Diagnostic() => Verify<PartialTypeAnalyzer>.Diagnostic(FloraDiagnosticIds.NotPartial);

    [Fact]
    public Task A_model_that_is_not_partial_is_marked_on_its_name_with_the_reason() =>
        Verify<PartialTypeAnalyzer>.AnalyzerAsync("""
            [FloraModel]
            public class {|#0:Model|} : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Linear fc = Linear(4, 4);
                public Model() : base(nameof(Model)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.call(x);
            }
            """,
            Diagnostic().WithLocation(0)
                .WithMessage("'Model' must be partial: the Flora generator adds AttachFlora() and the other adapter members to it"));

    [Fact]
    public Task A_containing_type_that_is_not_partial_is_marked_and_names_the_model() =>
        Verify<PartialTypeAnalyzer>.AnalyzerAsync("""
            public static class {|#0:Outer|}
            {
                public partial class Model : Module<Tensor, Tensor>
                {
                    [FloraTarget] private readonly Linear fc = Linear(4, 4);
                    public Model() : base(nameof(Model)) => RegisterComponents();
                    public override Tensor forward(Tensor x) => fc.call(x);
                }
            }
            """,
            Diagnostic().WithLocation(0)
                .WithMessage("'Outer' must be partial: it contains the Flora model 'Model', and the generator re-opens every containing type"));

    [Fact]
    public Task A_type_with_only_target_members_is_a_model_too() =>
        Verify<PartialTypeAnalyzer>.AnalyzerAsync("""
            public sealed class {|FLORA001:Model|} : Module<Tensor, Tensor>
            {
                [FloraTarget(Rank = 2)] public Conv1d Conv { get; } = Conv1d(4, 4, 3);
                public Model() : base(nameof(Model)) => RegisterComponents();
                public override Tensor forward(Tensor x) => Conv.call(x);
            }
            """);

    [Fact]
    public Task Every_level_that_is_not_partial_is_marked_and_partial_levels_are_not() =>
        Verify<PartialTypeAnalyzer>.AnalyzerAsync("""
            namespace Zoo
            {
                internal class {|FLORA001:Outer|}
                {
                    internal partial class Middle
                    {
                        [FloraModel(Rank = 2)]
                        internal sealed class {|FLORA001:Model|} : Module<Tensor, Tensor>
                        {
                            [FloraTarget] private readonly Conv2d conv = Conv2d(3, 8, 3);
                            public Model() : base(nameof(Model)) => RegisterComponents();
                            public override Tensor forward(Tensor x) => conv.call(x);
                        }
                    }
                }
            }
            """);

    [Fact]
    public Task A_record_model_is_marked_too() =>
        Verify<PartialTypeAnalyzer>.AnalyzerAsync("""
            [FloraModel]
            public record {|FLORA001:Settings|}(int Width);
            """);

    [Fact]
    public Task Only_the_declaration_without_partial_is_marked() =>
        Verify<PartialTypeAnalyzer>.AnalyzerAsync("""
            [FloraModel]
            public partial class Model : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Linear fc = Linear(4, 4);
                public Model() : base(nameof(Model)) => RegisterComponents();
            }

            public class {|#0:Model|}
            {
                public override Tensor forward(Tensor x) => fc.call(x);
            }
            """,
            DiagnosticResult.CompilerError("CS0260").WithLocation(0).WithArguments("Model"),
            Diagnostic().WithLocation(0).WithArguments("Model", "the Flora generator adds AttachFlora() and the other adapter members to it"));

    [Fact]
    public Task Partial_models_and_partial_containing_types_raise_nothing() =>
        Verify<PartialTypeAnalyzer>.AnalyzerAsync("""
            public static partial class Outer
            {
                public partial record Holder
                {
                    /// <summary>A model nested in a static partial class and a record, generic, depthwise.</summary>
                    public partial class Nested<T> : Module<Tensor, Tensor>
                    {
                        [FloraTarget] private readonly Conv2d dw = Conv2d(8, 8, 7, padding: 3, groups: 8);
                        public Nested() : base("Nested") => RegisterComponents();
                        public T? Tag { get; set; }
                        public override Tensor forward(Tensor x) => dw.call(x);
                    }
                }
            }

            [FloraModel]
            public sealed partial class Split : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Linear fc = Linear(4, 4);
                public Split() : base(nameof(Split)) => RegisterComponents();
            }

            public sealed partial class Split
            {
                public override Tensor forward(Tensor x) => fc.call(x);
            }
            """);

    [Fact]
    public Task Types_without_Flora_attributes_need_not_be_partial() =>
        Verify<PartialTypeAnalyzer>.AnalyzerAsync("""
            public class Plain : Module<Tensor, Tensor>
            {
                private readonly Linear fc = Linear(4, 4);
                public Plain() : base(nameof(Plain)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.call(x);

                public class Inner { public int Width { get; set; } }
            }

            [FloraModel]
            public partial class Base : Module<Tensor, Tensor>
            {
                [FloraTarget] protected readonly Linear fc = Linear(4, 4);
                public Base() : base(nameof(Base)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.call(x);
            }

            // Derives from a model but has no Flora attributes of its own ([FloraModel] is not inherited).
            public class Derived : Base { }
            """);
}
