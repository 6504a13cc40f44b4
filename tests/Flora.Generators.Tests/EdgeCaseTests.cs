using System.Linq;
using Flora.Generators.Tests.Infrastructure;
using Xunit;
using static Flora.Generators.Tests.Infrastructure.TestCompiler;

namespace Flora.Generators.Tests;

/// <summary>Types and members the generator must leave alone, and shapes of declaration it must handle.</summary>
public sealed class EdgeCaseTests
{
    private const string Forward = "public override Tensor forward(Tensor x) => x;";

    [Fact]
    public void A_class_that_is_not_partial_gets_nothing()
    {
        var run = Run(Usings + $$"""
            public class Plain : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Linear fc = Linear(4, 4);
                public Plain() : base(nameof(Plain)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.call(x);
            }
            """);
        Assert.Empty(run.Sources);
        run.AssertCompilesCleanly();
    }

    [Fact]
    public void A_class_whose_containing_type_is_not_partial_gets_nothing()
    {
        var run = Run(Usings + $$"""
            public class Outer
            {
                public partial class Inner : Module<Tensor, Tensor>
                {
                    [FloraTarget] private readonly Linear fc = Linear(4, 4);
                    public Inner() : base(nameof(Inner)) => RegisterComponents();
                    public override Tensor forward(Tensor x) => fc.call(x);
                }
            }
            """);
        Assert.Empty(run.Sources);
        run.AssertCompilesCleanly();
    }

    [Fact]
    public void A_containing_type_partial_in_one_declaration_only_gets_nothing()
    {
        var run = Run(
            Usings + "public partial class Outer { public partial class Inner : Module<Tensor, Tensor> { [FloraTarget] private readonly Linear fc = Linear(4, 4); public Inner() : base(\"Inner\") { } " + Forward + " } }",
            "public class Outer { }");
        Assert.Empty(run.Sources);
        Assert.NotEmpty(run.InputErrors); // CS0260: the user's own error
        run.AssertOnlyUserErrors();
    }

    [Fact]
    public void A_struct_gets_nothing()
    {
        var run = Run(Usings + """
            public partial struct Holder
            {
                [FloraTarget] public Linear Fc;
            }
            """);
        Assert.Empty(run.Sources);
        run.AssertCompilesCleanly();
    }

    [Fact]
    public void A_class_not_deriving_from_a_TorchSharp_module_gets_nothing()
    {
        var run = Run(Usings + """
            public class Module2 { }
            public partial class NotAModule : Module2
            {
                [FloraTarget] private readonly Linear fc = Linear(4, 4);
                public Linear Fc => fc;
            }
            public partial class Bare
            {
                [FloraTarget] public Conv2d Conv { get; } = Conv2d(3, 3, 3);
            }
            """);
        Assert.Empty(run.Sources);
        run.AssertCompilesCleanly();
    }

    [Fact]
    public void A_class_deriving_from_the_non_generic_Module_or_a_two_input_module_is_generated()
    {
        var run = Run(Usings + """
            public partial class Plain : Module
            {
                [FloraTarget] private readonly Linear fc = Linear(4, 4);
                public Plain() : base(nameof(Plain)) => RegisterComponents();
                public Tensor Call(Tensor x) => fc.call(x);
            }
            public partial class TwoInputs : Module<Tensor, Tensor, Tensor>
            {
                [FloraTarget] private readonly Linear fc = Linear(4, 4);
                public TwoInputs() : base(nameof(TwoInputs)) => RegisterComponents();
                public override Tensor forward(Tensor x, Tensor y) => fc.call(x + y);
            }
            """);
        Assert.Equal(new[] { "Plain.Flora.g.cs", "TwoInputs.Flora.g.cs" }, run.Sources.Select(s => s.HintName).OrderBy(n => n));
        run.AssertCompilesCleanly();
    }

    [Fact]
    public void An_unsupported_layer_type_is_skipped_and_the_other_targets_kept()
    {
        var run = Run(Usings + $$"""
            public partial class WithNorm : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly BatchNorm2d bn = BatchNorm2d(8);
                [FloraTarget] private readonly Linear fc = Linear(8, 8);
                public WithNorm() : base(nameof(WithNorm)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.call(bn.call(x));
            }
            """);
        string text = run.SingleSource();
        Assert.DoesNotContain("\"bn\"", text);
        Assert.DoesNotContain("this.bn", text);
        Assert.Contains("parts.Target(this, \"fc\", this.fc, global::Flora.FloraTargetOptions.Inherit);", text);
        Assert.Contains("FloraTrainableParameters = 192L", text); // the count covers fc only
        run.AssertCompilesCleanly();
    }

    [Fact]
    public void A_model_whose_only_target_is_unsupported_gets_no_target_and_compiles()
    {
        // The analyzers report FLORA006; the generator still emits the members (so calls to AttachFlora() do not cascade
        // into CS1061), with no target, no typed property and no compile-time count.
        var run = Run(Usings + $$"""
            public partial class OnlyNorm : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly BatchNorm2d bn = BatchNorm2d(8);
                public OnlyNorm() : base(nameof(OnlyNorm)) => RegisterComponents();
                public override Tensor forward(Tensor x) => bn.call(x);
            }
            """);
        foreach (var source in run.Sources)
        {
            string text = source.SourceText.ToString();
            Assert.DoesNotContain("bn", text);
            Assert.DoesNotContain("FloraTrainableParameters =", text);
        }
        run.AssertCompilesCleanly();
    }

    [Fact]
    public void A_static_member_is_skipped()
    {
        var run = Run(Usings + $$"""
            public partial class WithStatic : Module<Tensor, Tensor>
            {
                [FloraTarget] private static readonly Linear shared = Linear(4, 4);
                [FloraTarget] private static Linear Shared2 { get; } = Linear(4, 4);
                [FloraTarget] private readonly Linear fc = Linear(4, 4);
                public WithStatic() : base(nameof(WithStatic)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.call(shared.call(Shared2.call(x)));
            }
            """);
        string text = run.SingleSource();
        Assert.DoesNotContain("shared", text, System.StringComparison.OrdinalIgnoreCase);
        Assert.Contains("this.fc", text);
        run.AssertCompilesCleanly();
    }

    [Fact]
    public void Two_partial_declarations_in_two_files_give_one_file_with_every_target()
    {
        var run = Run(
            Usings + """
            namespace Demo;
            [FloraModel(Rank = 4)]
            public partial class Split : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Linear first = Linear(8, 8);
                public Split() : base(nameof(Split)) => RegisterComponents();
            }
            """,
            Usings + """
            namespace Demo;
            public partial class Split
            {
                [FloraTarget] private readonly Conv2d second = Conv2d(8, 8, 3);
                public override Tensor forward(Tensor x) => second.call(first.call(x));
            }
            """);
        string text = run.SingleSource();
        Assert.Equal("Demo.Split.Flora.g.cs", run.Sources[0].HintName);
        Assert.Contains("this.first", text);
        Assert.Contains("this.second", text);
        Assert.Contains("Rank = 4,", text);
        run.AssertCompilesCleanly();
    }

    [Fact]
    public void Several_declarators_in_one_field_declaration_are_each_a_target()
    {
        var run = Run(Usings + $$"""
            public partial class Many : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Linear a = Linear(4, 4), b = Linear(4, 2);
                public Many() : base(nameof(Many)) => RegisterComponents();
                public override Tensor forward(Tensor x) => b.call(a.call(x));
            }
            """);
        string text = run.SingleSource();
        Assert.Contains("this.a", text);
        Assert.Contains("this.b", text);
        run.AssertCompilesCleanly();
    }

    [Fact]
    public void The_attribute_is_found_by_full_name_and_through_an_alias()
    {
        var run = Run(Usings + $$"""
            using Target = Flora.FloraTargetAttribute;
            public partial class Spelled : Module<Tensor, Tensor>
            {
                [Flora.FloraTargetAttribute] private readonly Linear a = Linear(4, 4);
                [global::Flora.FloraTarget(Rank = 2)] private readonly Linear b = Linear(4, 4);
                [Target] private readonly Linear c = Linear(4, 4);
                public Spelled() : base(nameof(Spelled)) => RegisterComponents();
                public override Tensor forward(Tensor x) => c.call(b.call(a.call(x)));
            }
            """);
        string text = run.SingleSource();
        Assert.Contains("this.a", text);
        Assert.Contains("this.b", text);
        Assert.Contains("this.c", text);
        run.AssertCompilesCleanly();
    }

    [Fact]
    public void An_attribute_of_the_same_name_in_another_namespace_is_ignored()
    {
        var run = Run(Usings.Replace("using Flora;\n", "") + $$"""
            namespace Other { public sealed class FloraTargetAttribute : System.Attribute { } }
            namespace Demo
            {
                using Other;
                public partial class Impostor : Module<Tensor, Tensor>
                {
                    [FloraTarget] private readonly Linear fc = Linear(4, 4);
                    public Impostor() : base(nameof(Impostor)) => RegisterComponents();
                    public override Tensor forward(Tensor x) => fc.call(x);
                }
            }
            """);
        Assert.Empty(run.Sources);
        run.AssertCompilesCleanly();
    }

    [Fact]
    public void Models_of_the_same_name_in_different_namespaces_and_types_get_distinct_files()
    {
        string Model(string name) => "public partial class " + name + " : Module<Tensor, Tensor> { [FloraTarget] private readonly Linear fc = Linear(4, 4); public " + name + "() : base(\"m\") => RegisterComponents(); " + Forward + " }";
        var run = Run(Usings + "namespace A { " + Model("Net") + " }\nnamespace B { " + Model("Net") + " public partial class Outer { " + Model("Net") + " } }\n" + Model("Net"));
        Assert.Equal(new[] { "A.Net.Flora.g.cs", "B.Net.Flora.g.cs", "B.Outer.Net.Flora.g.cs", "Net.Flora.g.cs" }, run.Sources.Select(s => s.HintName).OrderBy(n => n, System.StringComparer.Ordinal));
        run.AssertCompilesCleanly();
    }

    [Fact]
    public void A_model_nested_in_a_struct_a_record_struct_and_an_interface_is_reopened_with_the_right_keywords()
    {
        string Model(string name) => "public partial class " + name + " : Module<Tensor, Tensor> { [FloraTarget] private readonly Linear fc = Linear(4, 4); public " + name + "() : base(\"m\") => RegisterComponents(); " + Forward + " }";
        var run = Run(Usings + $$"""
            namespace Demo;
            public partial struct S { {{Model("InStruct")}} }
            public partial record struct RS(int A) { {{Model("InRecordStruct")}} }
            public partial interface I { {{Model("InInterface")}} }
            public partial record class RC { {{Model("InRecordClass")}} }
            """);
        Assert.Equal(4, run.Sources.Length);
        Assert.Contains("partial struct S", run.Source("Demo.S.InStruct.Flora.g.cs"));
        Assert.Contains("partial record struct RS", run.Source("Demo.RS.InRecordStruct.Flora.g.cs"));
        Assert.Contains("partial interface I", run.Source("Demo.I.InInterface.Flora.g.cs"));
        Assert.Contains("partial record RC", run.Source("Demo.RC.InRecordClass.Flora.g.cs"));
        run.AssertCompilesCleanly();
    }

    [Fact]
    public void Keyword_named_types_and_type_parameters_are_escaped()
    {
        var run = Run(Usings + $$"""
            namespace Demo;
            public partial class @event<@int> : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Linear @this = Linear(4, 4);
                public @event() : base("event") => RegisterComponents();
                public @int? Tag { get; set; }
                public override Tensor forward(Tensor x) => @this.call(x);
            }
            """);
        string text = run.SingleSource();
        Assert.Contains("partial class @event<@int>", text);
        Assert.Contains("this.@this", text);
        Assert.Contains("public global::Flora.FloraLinear This =>", text);
        run.AssertCompilesCleanly();
    }

    [Fact]
    public void Generated_property_names_avoid_the_adapter_class_own_members()
    {
        var run = Run(Usings + $$"""
            public partial class Reserved : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Linear all = Linear(4, 4);
                [FloraTarget] private readonly Linear attachment = Linear(4, 4);
                [FloraTarget] private readonly Linear trainableParameters = Linear(4, 4);
                [FloraTarget] private readonly Linear floraAdapters = Linear(4, 4);
                [FloraTarget] private readonly Linear toString = Linear(4, 4);
                [FloraTarget] private readonly Linear _ = Linear(4, 4);
                public Reserved() : base(nameof(Reserved)) => RegisterComponents();
                public override Tensor forward(Tensor x) => _.call(toString.call(floraAdapters.call(trainableParameters.call(attachment.call(all.call(x))))));
            }
            """);
        string text = run.SingleSource();
        Assert.Contains(" All_2 =>", text);
        Assert.Contains(" Attachment_2 =>", text);
        Assert.Contains(" TrainableParameters_2 =>", text);
        Assert.Contains(" FloraAdapters_2 =>", text);
        Assert.Contains(" ToString_2 =>", text);
        Assert.Contains(" Target =>", text);
        run.AssertCompilesCleanly();
    }
}
