using System.Linq;
using Flora.Generators.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Xunit;
using static Flora.Generators.Tests.Infrastructure.TestCompiler;

namespace Flora.Generators.Tests;

/// <summary>
/// Valid user code on which the generator emits code that does not compile cleanly (or throws). Each test states the
/// contract (a clean build) and fails until the generator is fixed; the comment says what goes wrong and the fix.
/// </summary>
public sealed class GeneratorBugTests
{
    private const string Forward = "public override Tensor forward(Tensor x) => x;";

    /// <summary>
    /// The hint name is built from the namespace's <c>ToDisplayString()</c>, which keeps the verbatim <c>@</c> of a keyword
    /// segment (<c>Demo.@class.Models.Net.Flora.g.cs</c>): <c>AddSource</c> rejects the '@', the generator throws (CS8785)
    /// and no model of the compilation gets its members. Fix: build the hint name from the symbols' plain names
    /// (<c>INamespaceSymbol.Name</c> of each part, or a display format without <c>EscapeKeywordIdentifiers</c>), keeping
    /// the escaped form only for the <c>namespace</c> line.
    /// </summary>
    [Fact]
    public void A_keyword_namespace_segment_is_escaped()
    {
        var run = Run(Usings + """
            namespace Demo.@class.Models;
            public partial class Net : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Linear fc = Linear(4, 4);
                public Net() : base(nameof(Net)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.call(x);
            }
            """);
        Assert.Empty(run.InputErrors);
        run.AssertCompilesCleanly();
    }

    /// <summary>
    /// A model deriving from another model gets a second <c>AttachFlora()</c>, <c>FloraAdapters</c>,
    /// <c>FloraTrainableParameters</c>… that hide the base's: CS0108 warnings, errors under warnings as errors.
    /// Fix: record in the spec whether a base type is itself a generated model and emit <c>new</c> on the public members
    /// (or report a diagnostic and generate nothing for the derived one).
    /// </summary>
    [Fact]
    public void A_model_deriving_from_another_model_compiles_without_warnings()
    {
        var run = Run(Usings + """
            public partial class Backbone : Module<Tensor, Tensor>
            {
                [FloraTarget] protected readonly Linear stem = Linear(4, 4);
                public Backbone(string name) : base(name) { }
                public override Tensor forward(Tensor x) => stem.call(x);
            }
            public partial class WithHead : Backbone
            {
                [FloraTarget] private readonly Linear head = Linear(4, 2);
                public WithHead() : base(nameof(WithHead)) => RegisterComponents();
                public override Tensor forward(Tensor x) => head.call(stem.call(x));
            }
            """);
        Assert.Empty(run.InputErrors);
        run.AssertCompilesCleanly();
    }

    /// <summary>
    /// A target declared with a nullable type (<c>Linear?</c>, built later in the constructor or in a Build() method) is
    /// passed as <c>ModuleSlot</c>'s non-nullable <c>layer</c>: CS8604 in generated code. Fix: emit
    /// <c>this.head ?? throw new InvalidOperationException("'head' is null: build it before AttachFlora()")</c> when the
    /// member's type is nullable-annotated (or always).
    /// </summary>
    [Fact]
    public void A_nullable_layer_member_compiles_without_warnings()
    {
        var run = Run(Usings + """
            public partial class Lazy : Module<Tensor, Tensor>
            {
                [FloraTarget] private Linear? head;
                [FloraTarget] public Module<Tensor, Tensor>? Body { get; set; } = Linear(4, 4);
                public Lazy() : base(nameof(Lazy)) { }
                public void Build(int width) { head = Linear(width, 2); RegisterComponents(); }
                public override Tensor forward(Tensor x) => head!.call(Body!.call(x));
            }
            """);
        Assert.Empty(run.InputErrors);
        run.AssertCompilesCleanly();
    }

    /// <summary>
    /// The kind comes from the creation expression when the member is typed more generally, but the member itself is
    /// then passed as <c>ModuleSlot</c>'s <c>Module&lt;Tensor, Tensor&gt;</c> argument: a member typed <c>Module</c>
    /// (non-generic) or <c>object</c> gives CS1503. Fix: only take members whose type converts implicitly to
    /// <c>Module&lt;Tensor, Tensor&gt;</c> (the analyzer's FLORA006 for the rest), or emit a cast.
    /// </summary>
    [Fact]
    public void A_member_typed_more_generally_than_Module_of_Tensor_compiles()
    {
        var run = Run(Usings + """
            public partial class Loose : Module<Tensor, Tensor>
            {
                [FloraTarget] public Module Body { get; set; } = Linear(4, 4);
                [FloraTarget] public object Tail { get; set; } = Linear(4, 4);
                public Loose() : base(nameof(Loose)) => RegisterComponents();
                public override Tensor forward(Tensor x) => x;
            }
            """);
        Assert.Empty(run.InputErrors);
        run.AssertOnlyUserErrors();
    }

    /// <summary>
    /// An explicit interface implementation's name is <c>Demo.IHasHead.Head</c>: the generator emits
    /// <c>this.Demo.IHasHead.Head</c> and a property named <c>Demo.IHasHead.Head</c> (syntax errors). Fix: skip members
    /// with <c>ExplicitInterfaceImplementations</c> (or access them through a cast and name them by
    /// <c>MetadataName</c>'s last part).
    /// </summary>
    /// <summary>
    /// Same cause as above, in code that already has an error: a member typed <c>Module&lt;Tensor, Foo&gt;</c> (Foo
    /// unresolved) is passed to <c>ModuleSlot</c> and adds CS1503 in generated code to the user's CS0246.
    /// </summary>
    [Fact]
    public void A_member_typed_with_an_unresolved_type_argument_adds_no_error()
    {
        var run = Run(Usings + """
            public partial class Broken : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Module<Tensor, Foo> fc = Linear(2, 2);
                public Broken() : base(nameof(Broken)) => RegisterComponents();
                public override Tensor forward(Tensor x) => x;
            }
            """);
        Assert.NotEmpty(run.InputErrors);
        run.AssertOnlyUserErrors();
    }

    /// <summary>
    /// <c>DerivesFromTorchModule</c> matches base types by name, error types included: a model written
    /// <c>: Module&lt;Tensor&gt;</c> (wrong arity, CS0305) still gets members, and <c>ModuleSlot(this, …)</c> /
    /// <c>Attach(this, …)</c> add CS1503 errors to the user's one. Fix: stop at <c>TypeKind.Error</c> base types.
    /// </summary>
    [Fact]
    public void An_unresolved_base_type_named_Module_adds_no_error()
    {
        var run = Run(Usings + """
            public partial class Broken : Module<Tensor>
            {
                [FloraTarget] private readonly Linear fc = Linear(2, 2);
                public Broken() : base(nameof(Broken)) { }
            }
            """);
        Assert.NotEmpty(run.InputErrors);
        run.AssertOnlyUserErrors();
    }

    [Fact]
    public void An_explicit_interface_property_target_compiles()
    {
        var run = Run(Usings + """
            namespace Demo;
            public interface IHasHead { Linear Head { get; } }
            public partial class Explicit : Module<Tensor, Tensor>, IHasHead
            {
                private readonly Linear head = Linear(4, 4);
                [FloraTarget] Linear IHasHead.Head => head;
                public Explicit() : base(nameof(Explicit)) => RegisterComponents();
                public override Tensor forward(Tensor x) => head.call(x);
            }
            """);
        Assert.Empty(run.InputErrors);
        run.AssertOnlyUserErrors();
    }

    /// <summary>
    /// A write-only property is read by the generated <c>this.Head</c>: CS0154. Fix: skip properties without a getter.
    /// </summary>
    [Fact]
    public void A_write_only_property_target_compiles()
    {
        var run = Run(Usings + """
            public partial class WriteOnly : Module<Tensor, Tensor>
            {
                private Linear head = Linear(4, 4);
                [FloraTarget] public Linear Head { set => head = value; }
                public WriteOnly() : base(nameof(WriteOnly)) => RegisterComponents();
                public override Tensor forward(Tensor x) => head.call(x);
            }
            """);
        Assert.Empty(run.InputErrors);
        run.AssertOnlyUserErrors();
    }

    /// <summary>
    /// A <c>file</c>-local model (or one nested in a file-local type) is re-opened in the generated file without the
    /// <c>file</c> modifier: a second, different type, so the generated members are not on the user's type and the
    /// generated file has errors. A generator cannot add members to a file-local type from another file. Fix: generate
    /// nothing when the model or a containing type is file-local (the analyzers may report it).
    /// </summary>
    [Fact]
    public void A_file_local_model_compiles()
    {
        var run = Run(Usings + """
            file partial class Local : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Linear fc = Linear(4, 4);
                public Local() : base(nameof(Local)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.call(x);
            }
            """);
        Assert.Empty(run.InputErrors);
        run.AssertOnlyUserErrors();
    }

    /// <summary>
    /// Roslyn compares hint names ignoring case, so two valid models <c>Demo.Net</c> and <c>Demo.NET</c> get the same
    /// hint name: <c>AddSource</c> throws, CS8785, and no model of the compilation gets its members. Fix: make hint
    /// names unique ignoring case (e.g. after the <c>Collect()</c>, add a suffix to later duplicates; or append a short
    /// stable hash of the exact metadata name when it is not all-lowercase-unique).
    /// </summary>
    [Fact]
    public void Models_whose_names_differ_only_in_case_do_not_crash_the_generator()
    {
        string Model(string name) => "public partial class " + name + " : Module<Tensor, Tensor> { [FloraTarget] private readonly Linear fc = Linear(4, 4); public " + name + "() : base(\"m\") => RegisterComponents(); " + Forward + " }";
        var run = Run(Usings + "namespace Demo { " + Model("Net") + " " + Model("NET") + " }");
        Assert.Empty(run.InputErrors);
        run.AssertCompilesCleanly();
        Assert.Equal(2, run.Sources.Length);
    }

    /// <summary>
    /// Same cause, in code being edited: a namespace <c>A.B</c> next to a class <c>A.B</c> (CS0101) with a model
    /// <c>M</c> in each gives two <c>A.B.M.Flora.g.cs</c>; the generator throws and every other model of the
    /// compilation loses its members too, so the user sees a cascade of CS1061 instead of one error.
    /// </summary>
    [Fact]
    public void Colliding_hint_names_in_code_with_errors_do_not_crash_the_generator()
    {
        string Model(string name) => "public partial class " + name + " : Module<Tensor, Tensor> { [FloraTarget] private readonly Linear fc = Linear(4, 4); public " + name + "() : base(\"m\") => RegisterComponents(); " + Forward + " }";
        var run = Run(Usings + "namespace A { public partial class B { " + Model("M") + " } }\nnamespace A.B { " + Model("M") + " }\nnamespace C { " + Model("Other") + " }");
        Assert.NotEmpty(run.InputErrors);
        run.AssertOnlyUserErrors();
        Assert.Contains(run.Sources, s => s.HintName == "C.Other.Flora.g.cs");
    }

    /// <summary>
    /// Typed properties are named after the member in PascalCase, avoiding <c>FloraAdapters</c>' own names but not the
    /// members it inherits from <c>object</c>: <c>referenceEquals</c> → <c>ReferenceEquals</c> and
    /// <c>memberwiseClone</c> → <c>MemberwiseClone</c> hide them (CS0108). Fix: add <c>ReferenceEquals</c> and
    /// <c>MemberwiseClone</c> to <c>ReservedPropertyNames</c>.
    /// </summary>
    [Fact]
    public void Adapter_property_names_do_not_hide_members_inherited_from_object()
    {
        var run = Run(Usings + """
            public partial class ObjectNames : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Linear referenceEquals = Linear(4, 4);
                [FloraTarget] private readonly Linear memberwiseClone = Linear(4, 4);
                [FloraTarget] private readonly Linear finalize = Linear(4, 4);
                public ObjectNames() : base(nameof(ObjectNames)) => RegisterComponents();
                public override Tensor forward(Tensor x) => finalize.call(memberwiseClone.call(referenceEquals.call(x)));
            }
            """);
        Assert.Empty(run.InputErrors);
        run.AssertCompilesCleanly();
    }

    /// <summary>
    /// A model named <c>FloraAdapters</c> gets a nested class of its own name (CS0542). Fix: report it, or name the
    /// nested class differently for that model.
    /// </summary>
    [Fact]
    public void A_model_named_FloraAdapters_compiles()
    {
        var run = Run(Usings + """
            public partial class FloraAdapters : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Linear fc = Linear(4, 4);
                public FloraAdapters() : base(nameof(FloraAdapters)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.call(x);
            }
            """);
        Assert.Empty(run.InputErrors);
        run.AssertOnlyUserErrors();
    }

    /// <summary>
    /// <c>FloraRankRules.CountParameters</c> multiplies and adds in unchecked <c>long</c>: constant shapes whose count
    /// exceeds <c>long.MaxValue</c> give a wrapped constant. <c>Linear(long.MaxValue, 1)</c> compiles and gets
    /// <c>FloraTrainableParameters = 1L</c> (8 + 1·1 + long.MaxValue·8 wraps); the Conv3d below gets a negative one.
    /// Fix: count in a <c>checked</c> block in <c>ConstCount</c> (catching <c>OverflowException</c>) and emit no constant
    /// on overflow; the analyzers' FLORA008 budget check reads the same count.
    /// </summary>
    [Theory]
    [InlineData("Linear", "Linear(long.MaxValue, 1)", "")]
    [InlineData("Conv3d", "Conv3d(int.MaxValue, int.MaxValue, 65536)", "(Rank = int.MaxValue, R3 = 65536)")]
    public void The_compile_time_count_is_not_emitted_when_it_overflows(string type, string creation, string arguments)
    {
        var run = Run(Usings + $$"""
            public partial class Huge : Module<Tensor, Tensor>
            {
                [FloraTarget{{arguments}}] private readonly {{type}} layer = {{creation}};
                public Huge() : base(nameof(Huge)) => RegisterComponents();
                public override Tensor forward(Tensor x) => layer.call(x);
            }
            """);
        run.AssertCompilesCleanly();
        var field = run.Output.GetTypeByMetadataName("Huge")!.GetMembers("FloraTrainableParameters").OfType<IFieldSymbol>().SingleOrDefault();
        Assert.True(field is null, $"FloraTrainableParameters = {field?.ConstantValue} for a count above long.MaxValue");
    }
}
