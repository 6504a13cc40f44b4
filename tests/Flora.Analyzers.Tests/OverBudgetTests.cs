using Flora.Generators;
using Microsoft.CodeAnalysis.CSharp;

namespace Flora.Analyzers.Tests;

/// <summary>FLORA008: the compile-time trainable count (the generator's FloraTrainableParameters) exceeds MaxTrainableParameters.</summary>
[Trait("Diagnostic", "FLORA008")]
public sealed class OverBudgetTests
{
    private static DiagnosticResult Diagnostic() => Verify<BudgetAnalyzer>.Diagnostic(FloraDiagnosticIds.OverBudget);

    /// <summary>
    /// README's SmallCnn. Trainable parameters of one adapter: Π r_n + Σ I_n·r_n, with ranks clamped to their modes.
    /// conv1 Conv2d(1, 32, 3), Rank 16, R3 2: ranks (16, 1, 2, 2): 16·1·2·2 + 32·16 + 1·1 + 3·2 + 3·2 = 64 + 525 = 589.
    /// conv2 Conv2d(32, 64, 3), inherited Rank 8, R3 2: ranks (8, 8, 2, 2): 256 + 64·8 + 32·8 + 6 + 6 = 256 + 780 = 1,036.
    /// head Linear(64, 10), Rank 4: weight [10, 64], ranks (4, 4): 16 + 10·4 + 64·4 = 16 + 296 = 312.
    /// Total 589 + 1,036 + 312 = 1,937.
    /// </summary>
    private const long SmallCnnCount = 1937;

    private static string SmallCnn(string budget) => $$"""
        [FloraModel(Rank = 8, R3 = 2, Scale = 0.4, {{budget}})]
        public partial class SmallCnn : Module<Tensor, Tensor>
        {
            [FloraTarget(Rank = 16, R3 = 2)] private readonly Conv2d conv1 = Conv2d(1, 32, 3, padding: 1);
            [FloraTarget]                    private readonly Conv2d conv2 = Conv2d(32, 64, 3, padding: 1);
            [FloraTarget(Rank = 4)]          private readonly Linear head  = Linear(64, 10);
            private readonly BatchNorm2d bn = BatchNorm2d(32);
            public SmallCnn() : base(nameof(SmallCnn)) => RegisterComponents();
            public override Tensor forward(Tensor x) => head.call(conv2.call(bn.call(conv1.call(x))).mean(new long[] { 2, 3 }));
        }
        """;

    [Fact]
    public Task A_model_over_its_budget_lists_count_budget_and_largest_contributors() =>
        Verify<BudgetAnalyzer>.AnalyzerAsync(SmallCnn("{|#0:MaxTrainableParameters = 1_936|}"),
            Diagnostic().WithLocation(0).WithMessage(
                "'SmallCnn' trains 1,937 parameters, over its budget of 1,936 (MaxTrainableParameters). Largest: conv2 1,036, conv1 589, head 312. Lower their ranks or raise the budget."));

    [Fact]
    public Task A_model_exactly_at_its_budget_raises_nothing() =>
        Verify<BudgetAnalyzer>.AnalyzerAsync(SmallCnn("MaxTrainableParameters = 1_937"));

    [Fact]
    public async Task The_count_is_the_generator_s_FloraTrainableParameters()
    {
        var compilation = TestReferences.Compile(SmallCnn("MaxTrainableParameters = 1_936"));
        CSharpGeneratorDriver.Create(new FloraGenerator()).RunGeneratorsAndUpdateCompilation(compilation, out var output, out _);
        var constant = output.GetTypeByMetadataName("SmallCnn")?.GetMembers("FloraTrainableParameters").OfType<IFieldSymbol>().SingleOrDefault();
        Assert.NotNull(constant);
        Assert.Equal(SmallCnnCount, constant.ConstantValue);

        var diagnostics = await compilation.WithAnalyzers(ImmutableArray.Create<DiagnosticAnalyzer>(new BudgetAnalyzer()))
            .GetAnalyzerDiagnosticsAsync();
        var diagnostic = Assert.Single(diagnostics);
        Assert.StartsWith($"'SmallCnn' trains {SmallCnnCount:N0} parameters", diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public Task Only_the_three_largest_targets_are_listed_and_inherited_clamping_counts() =>
        // Inherited Rank 8 clamps to the modes: a Linear(4, 4) has ranks (4, 4): 16 + 16 + 16 = 48.
        // Linear(100, 100) Rank 8: 64 + 800 + 800 = 1,664. Linear(50, 50): 64 + 400 + 400 = 864. Linear(20, 20): 64 + 160 + 160 = 384.
        // Depthwise Conv2d(8, 8, 3, groups: 8) R3 1: ranks (8, 1, 1, 1): 8 + 64 + 1 + 3 + 3 = 79. Total 3,039.
        Verify<BudgetAnalyzer>.AnalyzerAsync("""
            [FloraModel({|#0:MaxTrainableParameters = 3_000|})]
            public partial class Wide : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Linear tiny = Linear(4, 4);
                [FloraTarget] private readonly Linear big = Linear(100, 100);
                [FloraTarget] private readonly Linear mid = Linear(50, 50);
                [FloraTarget] private readonly Linear small = Linear(20, 20);
                [FloraTarget] private readonly Conv2d dw = Conv2d(8, 8, 3, groups: 8);
                public Wide() : base(nameof(Wide)) => RegisterComponents();
                public override Tensor forward(Tensor x) => x;
            }
            """,
            Diagnostic().WithLocation(0).WithMessage(
                "'Wide' trains 3,039 parameters, over its budget of 3,000 (MaxTrainableParameters). Largest: big 1,664, mid 864, small 384. Lower their ranks or raise the budget."));

    [Fact]
    public Task No_budget_or_a_shape_known_only_at_run_time_raises_nothing() =>
        Verify<BudgetAnalyzer>.AnalyzerAsync("""
            [FloraModel]
            public partial class NoBudget : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Linear fc = Linear(1000, 1000);
                public NoBudget() : base(nameof(NoBudget)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.call(x);
            }

            [FloraModel(MaxTrainableParameters = 1)]
            public partial class RuntimeShape : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Linear fixedSize = Linear(1000, 1000);
                [FloraTarget] private readonly Linear fc;
                public RuntimeShape(int width) : base(nameof(RuntimeShape))
                {
                    fc = Linear(width, width);
                    RegisterComponents();
                }
                public override Tensor forward(Tensor x) => fc.call(fixedSize.call(x));
            }
            """);

    [Fact]
    public Task Invalid_ranks_leave_the_count_to_their_own_diagnostics() =>
        Verify<BudgetAnalyzer>.AnalyzerAsync("""
            [FloraModel(MaxTrainableParameters = 1)]
            public partial class Invalid : Module<Tensor, Tensor>
            {
                [FloraTarget(Rank = 0)] private readonly Linear fc = Linear(10, 10);
                [FloraTarget(R3 = 4)] private readonly Conv2d conv = Conv2d(3, 8, 3);
                public Invalid() : base(nameof(Invalid)) => RegisterComponents();
                public override Tensor forward(Tensor x) => x;
            }
            """);

    /// <summary>2^59 inputs: one Linear(2^59, 1) at the inherited Rank 8 trains 8 + 1 + 2^59·8 = 2^62 + 9 parameters.</summary>
    private const string HugeInputs = "576460752303423488L";

    /// <summary>
    /// BUG (BudgetAnalyzer): the per-target counts are summed with LINQ's checked <c>Sum</c>, so two targets whose counts add up
    /// past <see cref="long.MaxValue"/> make the analyzer throw (AD0001, OverflowException) instead of reporting FLORA008.
    /// Fix: add the counts with saturation (or catch the overflow) and report the model as over any budget.
    /// </summary>
    [Fact]
    [Trait("Bug", "BudgetAnalyzer overflow")]
    public async Task Counts_past_long_MaxValue_are_over_budget_and_never_throw()
    {
        var compilation = TestReferences.Compile($$"""
            [FloraModel(MaxTrainableParameters = 1)]
            public partial class Huge : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Linear a = Linear({{HugeInputs}}, 1);
                [FloraTarget] private readonly Linear b = Linear({{HugeInputs}}, 1);
                public Huge() : base(nameof(Huge)) => RegisterComponents();
                public override Tensor forward(Tensor x) => x;
            }
            """);
        var diagnostics = await compilation.WithAnalyzers(ImmutableArray.Create<DiagnosticAnalyzer>(new BudgetAnalyzer())).GetAllDiagnosticsAsync();
        Assert.DoesNotContain(diagnostics, d => d.Id == "AD0001");
        Assert.Contains(diagnostics, d => d.Id == FloraDiagnosticIds.OverBudget);
    }

    /// <summary>
    /// BUG (BudgetAnalyzer): a Linear(2^61, 1) trains 8 + 1 + 2^61·8 = 2^64 + 9 parameters, more than a long holds. The shared
    /// FloraRankRules.CountTarget returns null on that overflow (so the generator rightly emits no FloraTrainableParameters),
    /// but BudgetAnalyzer reads null as "invalid ranks, reported elsewhere" and stays silent: nothing reports the model,
    /// which is over any budget. Fix: tell the overflow apart from invalid ranks (e.g. a separate check, or a saturating
    /// count) and report FLORA008 for it.
    /// </summary>
    [Fact]
    [Trait("Bug", "BudgetAnalyzer overflow")]
    public async Task A_count_past_long_MaxValue_in_one_target_is_over_budget()
    {
        var compilation = TestReferences.Compile("""
            [FloraModel(MaxTrainableParameters = 100)]
            public partial class Wrapped : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Linear a = Linear(2305843009213693952L, 1);
                public Wrapped() : base(nameof(Wrapped)) => RegisterComponents();
                public override Tensor forward(Tensor x) => x;
            }
            """);
        CSharpGeneratorDriver.Create(new FloraGenerator()).RunGeneratorsAndUpdateCompilation(compilation, out var output, out _);
        var constant = output.GetTypeByMetadataName("Wrapped")?.GetMembers("FloraTrainableParameters").OfType<IFieldSymbol>().SingleOrDefault();
        var diagnostics = await compilation.WithAnalyzers(ImmutableArray.Create<DiagnosticAnalyzer>(new BudgetAnalyzer())).GetAllDiagnosticsAsync();
        Assert.True(constant is null || (long)constant.ConstantValue! > 100, $"FloraTrainableParameters = {constant?.ConstantValue}");
        Assert.True(diagnostics.Any(d => d.Id == FloraDiagnosticIds.OverBudget),
            $"no FLORA008; the generator's FloraTrainableParameters is {constant?.ConstantValue?.ToString() ?? "not emitted"}");
    }

    /// <summary>
    /// Modules to save train fully and count in the budget. fc Linear(16, 16) at the inherited Rank 8: 64 + 128 + 128 = 320;
    /// head Linear(16, 10): 160 + 10 = 170; bn BatchNorm1d(16): weight and bias 32 (running statistics are buffers). 522.
    /// </summary>
    private static string WithModulesToSave(string model, string extra = "") => $$"""
        {{model}}
        public partial class Transfer : Module<Tensor, Tensor>
        {
            [FloraTarget] private readonly Linear fc = Linear(16, 16);
            [FloraModuleToSave] private readonly Linear head = Linear(16, 10);
            [FloraModuleToSave] private readonly BatchNorm1d bn = BatchNorm1d(16);
        {{extra}}
            public Transfer() : base(nameof(Transfer)) => RegisterComponents();
            public override Tensor forward(Tensor x) => head.call(bn.call(fc.call(x)));
        }
        """;

    [Fact]
    [Trait("Feature", "ModulesToSave")]
    public Task Modules_to_save_count_in_the_budget_and_are_listed() =>
        Verify<BudgetAnalyzer>.AnalyzerAsync(WithModulesToSave("[FloraModel({|#0:MaxTrainableParameters = 521|})]"),
            Diagnostic().WithLocation(0).WithMessage(
                "'Transfer' trains 522 parameters, over its budget of 521 (MaxTrainableParameters). Largest: fc 320, head 170, bn 32. Lower their ranks or raise the budget."));

    [Fact]
    [Trait("Feature", "ModulesToSave")]
    public Task Modules_to_save_exactly_at_the_budget_raise_nothing() =>
        Verify<BudgetAnalyzer>.AnalyzerAsync(WithModulesToSave("[FloraModel(MaxTrainableParameters = 522)]"));

    [Fact]
    [Trait("Feature", "ModulesToSave")]
    public Task A_model_with_only_modules_to_save_is_counted_too() =>
        Verify<BudgetAnalyzer>.AnalyzerAsync("""
            [FloraModel({|#0:MaxTrainableParameters = 1_000|})]
            public partial class Probe : Module<Tensor, Tensor>
            {
                [FloraModuleToSave] public Linear Head { get; } = Linear(512, 10, hasBias: false);
                [FloraModuleToSave] private readonly Embedding tokens = Embedding(100, 4);
                public Probe() : base(nameof(Probe)) => RegisterComponents();
                public override Tensor forward(Tensor x) => Head.call(x);
            }
            """,
            Diagnostic().WithLocation(0).WithMessage(
                "'Probe' trains 5,520 parameters, over its budget of 1,000 (MaxTrainableParameters). Largest: Head 5,120, tokens 400. Lower their ranks or raise the budget."));

    [Fact]
    [Trait("Feature", "ModulesToSave")]
    public Task A_module_to_save_of_unknown_size_leaves_no_constant_count_and_no_FLORA008() =>
        // fc alone (320) is over the budget, but the model's count is not a compile-time constant: nothing is reported,
        // as for a target whose shape is known only at run time.
        Verify<BudgetAnalyzer>.AnalyzerAsync("""
            [FloraModel(MaxTrainableParameters = 100)]
            public partial class Unknown : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Linear fc = Linear(16, 16);
                [FloraModuleToSave] private readonly Sequential body = Sequential(Linear(16, 16), ReLU());
                public Unknown() : base(nameof(Unknown)) => RegisterComponents();
                public override Tensor forward(Tensor x) => body.call(fc.call(x));
            }

            [FloraModel(MaxTrainableParameters = 100)]
            public partial class RuntimeHead : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Linear fc = Linear(16, 16);
                [FloraModuleToSave] private readonly Linear head;
                public RuntimeHead(int classes) : base(nameof(RuntimeHead))
                {
                    head = Linear(16, classes);
                    RegisterComponents();
                }
                public override Tensor forward(Tensor x) => head.call(fc.call(x));
            }
            """);

    [Fact]
    [Trait("Feature", "ModulesToSave")]
    public Task A_member_that_is_both_target_and_module_to_save_counts_once_as_a_target() =>
        // FLORA011 reports the member; the budget counts its adapter (320), not also its 272 weights.
        Verify<BudgetAnalyzer>.AnalyzerAsync("""
            [FloraModel(MaxTrainableParameters = 320)]
            public partial class Both : Module<Tensor, Tensor>
            {
                [FloraTarget, FloraModuleToSave] private readonly Linear fc = Linear(16, 16);
                [FloraModuleToSave] private static readonly Linear shared = Linear(100, 100);
                public Both() : base(nameof(Both)) => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.call(x);
            }
            """);

    [Fact]
    [Trait("Feature", "ModulesToSave")]
    public Task SaveNormLayers_counts_the_model_s_norm_layer_members_once() =>
        // 522 + ln LayerNorm(16) 32 + gn GroupNorm(4, 16) 32 (bn is counted once; the InstanceNorm has no affine parameters).
        Verify<BudgetAnalyzer>.AnalyzerAsync(WithModulesToSave("[FloraModel(SaveNormLayers = true, {|#0:MaxTrainableParameters = 585|})]", """
                private readonly LayerNorm ln = LayerNorm(16);
                private readonly GroupNorm gn = GroupNorm(4, 16);
                private readonly InstanceNorm1d inorm = InstanceNorm1d(16);
                private readonly Linear notANorm = Linear(100, 100);
            """),
            Diagnostic().WithLocation(0).WithMessage(
                "'Transfer' trains 586 parameters, over its budget of 585 (MaxTrainableParameters). Largest: fc 320, head 170, bn 32. Lower their ranks or raise the budget."));

    [Fact]
    [Trait("Feature", "ModulesToSave")]
    public Task Without_SaveNormLayers_norm_layers_stay_frozen_and_uncounted() =>
        Verify<BudgetAnalyzer>.AnalyzerAsync(WithModulesToSave("[FloraModel(SaveNormLayers = false, MaxTrainableParameters = 522)]", """
                private readonly LayerNorm ln = LayerNorm(16);
            """));
}
