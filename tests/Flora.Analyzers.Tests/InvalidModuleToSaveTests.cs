namespace Flora.Analyzers.Tests;

/// <summary>
/// FLORA011: [FloraModuleToSave] on a member that is also a [FloraTarget], that holds no TorchSharp module, or that is
/// static (or an indexer, or a property without a getter); and a type with only modules to save is a Flora model for
/// FLORA001 and FLORA009.
/// </summary>
[Trait("Diagnostic", "FLORA011")]
public sealed class InvalidModuleToSaveTests
{
    private static DiagnosticResult Diagnostic() => Verify<ModuleToSaveAnalyzer>.Diagnostic(FloraDiagnosticIds.InvalidModuleToSave);

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
    public Task A_target_that_is_also_a_module_to_save_is_marked_on_the_attribute() =>
        Verify<ModuleToSaveAnalyzer>.AnalyzerAsync(Model("""
                [FloraTarget, {|#0:FloraModuleToSave|}] private readonly Linear fc = Linear(16, 10);
                [FloraTarget(Rank = 2)]
                [{|#1:FloraModuleToSave|}]
                private readonly Conv2d conv = Conv2d(3, 8, 3);
            """),
            Diagnostic().WithLocation(0).WithMessage(
                "'fc' is both [FloraTarget] and [FloraModuleToSave]: a target trains its adapter, a module to save trains fully; remove one of the two attributes."),
            Diagnostic().WithLocation(1).WithMessage(
                "'conv' is both [FloraTarget] and [FloraModuleToSave]: a target trains its adapter, a module to save trains fully; remove one of the two attributes."));

    [Fact]
    public Task A_member_that_holds_no_module_is_marked_with_its_type() =>
        Verify<ModuleToSaveAnalyzer>.AnalyzerAsync(Model("""
                [{|#0:FloraModuleToSave|}] private readonly int width = 4;
                [{|#1:FloraModuleToSave|}] public Tensor Scale { get; } = ones(3);
                [{|#2:FloraModuleToSave|}] private readonly object boxed = Linear(4, 4);
                [{|#3:FloraModuleToSave|}] public System.Collections.Generic.List<Linear> Heads { get; } = new();
            """),
            Diagnostic().WithLocation(0).WithMessage(
                "'width' is typed int, which is not a TorchSharp module (torch.nn.Module): only a module's parameters train fully and are saved; remove [FloraModuleToSave]."),
            Diagnostic().WithLocation(1).WithMessage(
                "'Scale' is typed Tensor, which is not a TorchSharp module (torch.nn.Module): only a module's parameters train fully and are saved; remove [FloraModuleToSave]."),
            Diagnostic().WithLocation(2).WithMessage(
                "'boxed' is typed object, which is not a TorchSharp module (torch.nn.Module): only a module's parameters train fully and are saved; remove [FloraModuleToSave]."),
            Diagnostic().WithLocation(3).WithMessage(
                "'Heads' is typed List<Linear>, which is not a TorchSharp module (torch.nn.Module): only a module's parameters train fully and are saved; remove [FloraModuleToSave]."));

    [Fact]
    public Task Static_members_indexers_and_setter_only_properties_are_marked() =>
        Verify<ModuleToSaveAnalyzer>.AnalyzerAsync(Model("""
                [{|#0:FloraModuleToSave|}] private static readonly Linear shared = Linear(4, 4);
                [{|#1:FloraModuleToSave|}] public Linear this[int i] => Linear(4, 4);
                [{|#2:FloraModuleToSave|}] public Linear Sink { set { } }
            """),
            Diagnostic().WithLocation(0).WithMessage(
                "'shared' is static: a module to save belongs to each model instance; make it an instance field or property, or remove [FloraModuleToSave]."),
            Diagnostic().WithLocation(1).WithMessage(
                "'this[]' is an indexer: a module to save is an instance field or a property with a getter; remove [FloraModuleToSave] or move it to the member that holds the module."),
            Diagnostic().WithLocation(2).WithMessage(
                "'Sink' is a property without a getter: a module to save is an instance field or a property with a getter; remove [FloraModuleToSave] or move it to the member that holds the module."));

    [Fact]
    public Task Any_TorchSharp_module_is_a_valid_module_to_save() =>
        Verify<ModuleToSaveAnalyzer>.AnalyzerAsync("""
            public sealed class Block : Module<Tensor, Tensor>
            {
                public Block() : base(nameof(Block)) { }
                public override Tensor forward(Tensor x) => x;
            }

            [FloraModel]
            public partial class Model<TLayer> : Module<Tensor, Tensor> where TLayer : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Conv2d conv = Conv2d(3, 8, 3);
                [FloraModuleToSave] private readonly BatchNorm2d bn = BatchNorm2d(8);
                [FloraModuleToSave] public Linear Head { get; set; } = Linear(8, 10);
                [FloraModuleToSave] private readonly Module<Tensor, Tensor> body = Sequential(Linear(4, 4), ReLU());
                [FloraModuleToSave] private readonly Sequential seq = Sequential();
                [FloraModuleToSave] private readonly Block block = new Block();
                [FloraModuleToSave] private readonly TorchSharp.torch.nn.Module plain = LayerNorm(8);
                [FloraModuleToSave] private readonly TLayer? custom;
                public Model() : base(nameof(Model<TLayer>)) => RegisterComponents();
                public override Tensor forward(Tensor x) => x;
            }
            """);

    [Fact]
    public Task Unresolved_member_types_are_left_to_the_compiler() =>
        Verify<ModuleToSaveAnalyzer>.AnalyzerAsync(Model("""
                [FloraModuleToSave] private readonly {|CS0246:Missing|} gone = null!;
            """));

    [Fact]
    [Trait("Diagnostic", "FLORA001")]
    public Task A_type_with_only_modules_to_save_must_be_partial() =>
        Verify<PartialTypeAnalyzer>.AnalyzerAsync("""
            public class {|FLORA001:Model|} : Module<Tensor, Tensor>
            {
                [FloraModuleToSave] private readonly Linear head = Linear(8, 10);
                public Model() : base(nameof(Model)) => RegisterComponents();
                public override Tensor forward(Tensor x) => head.call(x);
            }

            public class {|FLORA001:Outer|}
            {
                public partial class Inner : Module<Tensor, Tensor>
                {
                    [FloraModuleToSave] private readonly BatchNorm1d bn = BatchNorm1d(8);
                    public Inner() : base(nameof(Inner)) => RegisterComponents();
                    public override Tensor forward(Tensor x) => bn.call(x);
                }
            }
            """);

    [Fact]
    [Trait("Diagnostic", "FLORA009")]
    public Task A_type_with_only_modules_to_save_must_be_a_module() =>
        Verify<TargetTypeAnalyzer>.AnalyzerAsync("""
            public partial class {|#0:Holder|}
            {
                [FloraModuleToSave] private readonly Linear head = Linear(8, 10);
            }
            """,
            Verify<TargetTypeAnalyzer>.Diagnostic(FloraDiagnosticIds.NotAModule).WithLocation(0).WithMessage(
                "'Holder' has Flora attributes but is not a TorchSharp Module; derive it from Module<Tensor, Tensor> (or another torch.nn.Module)."));

    [Fact]
    public Task Pragma_warning_disable_FLORA011_is_respected() =>
        Verify<ModuleToSaveAnalyzer>.AnalyzerAsync(Model("""
            #pragma warning disable FLORA011
                [FloraModuleToSave] private readonly int width = 4;
            #pragma warning restore FLORA011
                [{|FLORA011:FloraModuleToSave|}] private readonly int height = 4;
            """), TestBehaviors.SkipSuppressionCheck);

    [Fact]
    [Trait("Diagnostic", "FLORA001")]
    [Trait("Fix", "AddPartialCodeFix")]
    public Task A_type_with_only_modules_to_save_and_its_container_become_partial() =>
        VerifyFix<PartialTypeAnalyzer, Flora.Analyzers.CodeFixes.AddPartialCodeFix>.FixAsync("""
            public static class {|FLORA001:Outer|}
            {
                public sealed class {|FLORA001:Probe|} : Module<Tensor, Tensor>
                {
                    [FloraModuleToSave] private readonly Linear head = Linear(8, 10);
                    public Probe() : base(nameof(Probe)) => RegisterComponents();
                    public override Tensor forward(Tensor x) => head.call(x);
                }
            }
            """, """
            public static partial class Outer
            {
                public sealed partial class Probe : Module<Tensor, Tensor>
                {
                    [FloraModuleToSave] private readonly Linear head = Linear(8, 10);
                    public Probe() : base(nameof(Probe)) => RegisterComponents();
                    public override Tensor forward(Tensor x) => head.call(x);
                }
            }
            """, CodeFixTestBehaviors.SkipLocalDiagnosticCheck);
}
