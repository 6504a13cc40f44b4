using Flora.Analyzers.CodeFixes;

namespace Flora.Analyzers.Tests;

/// <summary>
/// The fix of FLORA002 (for the arguments whose 0 means unset), FLORA003, FLORA004, FLORA005, FLORA007 and FLORA014: the
/// marked attribute argument becomes the diagnostic's Replacement text, or goes when that is empty.
/// </summary>
[Trait("Fix", "ReplaceAttributeArgumentCodeFix")]
public sealed class ReplaceAttributeArgumentCodeFixTests
{
    private static string Model(string members, string model = "[FloraModel]") => $$"""
        {{model}}
        public partial class Model : Module<Tensor, Tensor>
        {
        {{members}}
            public Model() : base(nameof(Model)) => RegisterComponents();
            public override Tensor forward(Tensor x) => x;
        }
        """;

    [Fact]
    [Trait("Diagnostic", "FLORA003")]
    public Task FLORA003_Rank_over_one_mode_is_split_into_OutRank_and_InRank() =>
        VerifyFix<RankAnalyzer, ReplaceAttributeArgumentCodeFix>.FixAsync(Model("""
                [FloraTarget({|FLORA003:Rank = 16|}, R3 = 2)] private readonly Conv2d conv1 = Conv2d(1, 32, 3, padding: 1);
            """), Model("""
                [FloraTarget(OutRank = 16, InRank = 1, R3 = 2)] private readonly Conv2d conv1 = Conv2d(1, 32, 3, padding: 1);
            """), title: "Use OutRank = 16, InRank = 1");

    [Fact]
    [Trait("Diagnostic", "FLORA003")]
    public Task FLORA003_Rank_over_both_modes_is_lowered_to_the_smaller() =>
        VerifyFix<RankAnalyzer, ReplaceAttributeArgumentCodeFix>.FixAsync(Model("""
                [FloraTarget(Scale = 4, {|FLORA003:Rank = 64|})] private readonly Linear head = Linear(16, 10);
            """), Model("""
                [FloraTarget(Scale = 4, Rank = 10)] private readonly Linear head = Linear(16, 10);
            """), title: "Set Rank = 10");

    [Fact]
    [Trait("Diagnostic", "FLORA003")]
    public Task FLORA003_OutRank_and_InRank_are_lowered_each_to_its_mode() =>
        VerifyFix<RankAnalyzer, ReplaceAttributeArgumentCodeFix>.FixAsync(Model("""
                [FloraTarget({|FLORA003:OutRank = 64|}, {|FLORA003:InRank = 20|})] private readonly Linear fc = Linear(16, 10);
            """), Model("""
                [FloraTarget(OutRank = 10, InRank = 16)] private readonly Linear fc = Linear(16, 10);
            """));

    [Fact]
    [Trait("Diagnostic", "FLORA004")]
    public Task FLORA004_R3_is_lowered_to_the_smallest_kernel_axis() =>
        VerifyFix<RankAnalyzer, ReplaceAttributeArgumentCodeFix>.FixAsync(Model("""
                [FloraTarget(Rank = 2, {|FLORA004:R3 = 4|})] private readonly Conv2d conv = Conv2d(3, 8, (5, 3), padding: (2, 1));
            """), Model("""
                [FloraTarget(Rank = 2, R3 = 3)] private readonly Conv2d conv = Conv2d(3, 8, (5, 3), padding: (2, 1));
            """), title: "Set R3 = 3");

    [Fact]
    [Trait("Diagnostic", "FLORA005")]
    public Task FLORA005_the_only_argument_goes_with_its_parentheses() =>
        VerifyFix<RankAnalyzer, ReplaceAttributeArgumentCodeFix>.FixAsync(Model("""
                [FloraTarget({|FLORA005:R3 = 2|})] private readonly Linear fc = Linear(8, 4);
            """), Model("""
                [FloraTarget] private readonly Linear fc = Linear(8, 4);
            """), title: "Remove R3");

    [Fact]
    [Trait("Diagnostic", "FLORA005")]
    public Task FLORA005_R3_goes_from_the_middle_or_the_end_of_the_arguments() =>
        VerifyFix<RankAnalyzer, ReplaceAttributeArgumentCodeFix>.FixAsync(Model("""
                [FloraTarget(Rank = 4, {|FLORA005:R3 = 2|}, Scale = 0.04)] private readonly Linear a = Linear(8, 4);
                [FloraTarget(Rank = 4, {|FLORA005:R3 = 2|})] private readonly Linear b = Linear(8, 4);
                [FloraTarget({|FLORA005:R3 = 2|}, Rank = 4)] private readonly Linear c = Linear(8, 4);
            """), Model("""
                [FloraTarget(Rank = 4, Scale = 0.04)] private readonly Linear a = Linear(8, 4);
                [FloraTarget(Rank = 4)] private readonly Linear b = Linear(8, 4);
                [FloraTarget(Rank = 4)] private readonly Linear c = Linear(8, 4);
            """));

    [Fact]
    [Trait("Diagnostic", "FLORA007")]
    public Task FLORA007_an_invalid_scale_becomes_the_paper_s_on_targets_and_models() =>
        VerifyFix<RankAnalyzer, ReplaceAttributeArgumentCodeFix>.FixAsync(Model("""
                [FloraTarget({|FLORA007:Scale = 0|})] private readonly Linear fc = Linear(8, 4);
            """, "[FloraModel(Rank = 4, {|FLORA007:Scale = -1|})]"), Model("""
                [FloraTarget(Scale = 0.4)] private readonly Linear fc = Linear(8, 4);
            """, "[FloraModel(Rank = 4, Scale = 0.4)]"));

    [Fact]
    [Trait("Diagnostic", "FLORA007")]
    public Task FLORA007_title_names_the_replacement() =>
        VerifyFix<RankAnalyzer, ReplaceAttributeArgumentCodeFix>.FixAsync(Model("""
                [FloraTarget({|FLORA007:Scale = double.NaN|})] private readonly Linear fc = Linear(8, 4);
            """), Model("""
                [FloraTarget(Scale = 0.4)] private readonly Linear fc = Linear(8, 4);
            """), title: "Set Scale = 0.4");

    [Fact]
    [Trait("Diagnostic", "FLORA002")]
    public Task FLORA002_a_negative_AdapterSize_is_removed_from_targets_and_models() =>
        VerifyFix<RankAnalyzer, ReplaceAttributeArgumentCodeFix>.FixAsync(Model("""
                [FloraTarget({|FLORA002:AdapterSize = -8|})] private readonly Linear fc = Linear(8, 4);
                [FloraTarget(Rank = 2, {|FLORA002:AdapterSize = -1|}, Scale = 4)] private readonly Linear head = Linear(8, 4);
            """, "[FloraModel(Rank = 4, {|FLORA002:AdapterSize = -2|})]"), Model("""
                [FloraTarget] private readonly Linear fc = Linear(8, 4);
                [FloraTarget(Rank = 2, Scale = 4)] private readonly Linear head = Linear(8, 4);
            """, "[FloraModel(Rank = 4)]"));

    [Fact]
    [Trait("Diagnostic", "FLORA002")]
    public Task FLORA002_title_names_the_removed_argument() =>
        VerifyFix<RankAnalyzer, ReplaceAttributeArgumentCodeFix>.FixAsync(Model("""
                [FloraTarget] private readonly Linear fc = Linear(8, 4);
            """, "[FloraModel(Rank = 4, {|FLORA002:AdaLoraTargetRank = -4|})]"), Model("""
                [FloraTarget] private readonly Linear fc = Linear(8, 4);
            """, "[FloraModel(Rank = 4)]"), title: "Remove AdaLoraTargetRank");

    [Fact]
    [Trait("Diagnostic", "FLORA002")]
    public Task FLORA002_negative_AdaLoRA_ranks_and_LoraRank_are_removed() =>
        VerifyFix<RankAnalyzer, ReplaceAttributeArgumentCodeFix>.FixAsync(Model("""
                [FloraTarget({|FLORA002:LoraRank = -4|})] private readonly Linear fc = Linear(8, 4);
            """, "[FloraModel({|FLORA002:AdaLoraTargetRank = -4|}, {|FLORA002:AdaLoraInitRank = -1|}, {|FLORA002:LoraRank = -2|})]"), Model("""
                [FloraTarget] private readonly Linear fc = Linear(8, 4);
            """, "[FloraModel]"),
            // Removing neighbouring arguments touches the same separators: Fix All takes a second pass for the model's three.
            test => test.NumberOfFixAllIterations = 2);

    [Fact]
    [Trait("Diagnostic", "FLORA014")]
    public Task FLORA014_the_initial_rank_is_raised_to_the_target_rank() =>
        VerifyFix<RankAnalyzer, ReplaceAttributeArgumentCodeFix>.FixAsync(Model("""
                [FloraTarget] private readonly Conv2d conv = Conv2d(32, 64, 3);
            """, "[FloraModel(Rank = 4, AdaLoraTargetRank = 16, {|FLORA014:AdaLoraInitRank = 12|}, Scale = 0.4)]"), Model("""
                [FloraTarget] private readonly Conv2d conv = Conv2d(32, 64, 3);
            """, "[FloraModel(Rank = 4, AdaLoraTargetRank = 16, AdaLoraInitRank = 16, Scale = 0.4)]"), title: "Set AdaLoraInitRank = 16");

    [Fact]
    [Trait("Diagnostic", "FLORA002")]
    public Task FLORA002_on_a_FLoRA_rank_keeps_its_diagnostic_and_gets_no_fix() =>
        VerifyFix<RankAnalyzer, ReplaceAttributeArgumentCodeFix>.FixAsync(Model("""
                [FloraTarget({|FLORA002:Rank = 0|}, {|FLORA002:AdapterSize = -1|})] private readonly Linear fc = Linear(8, 4);
            """), Model("""
                [FloraTarget({|FLORA002:Rank = 0|})] private readonly Linear fc = Linear(8, 4);
            """),
            // FLORA002 is fixable, so its markup in the fixed code is an expectation only where the fixed state allows markup.
            test => test.FixedState.MarkupHandling = MarkupMode.Allow);


    [Fact]
    public async Task Titles_name_what_each_fix_writes()
    {
        var titles = await VerifyFix<RankAnalyzer, ReplaceAttributeArgumentCodeFix>.TitlesAsync(Model("""
                [FloraTarget(R3 = 4)] private readonly Conv2d conv = Conv2d(3, 8, 3);
                [FloraTarget(Rank = 16)] private readonly Conv2d conv1 = Conv2d(1, 32, 3);
                [FloraTarget(R3 = 2)] private readonly Linear fc = Linear(8, 4);
                [FloraTarget(Scale = 0)] private readonly Linear head = Linear(8, 4);
                [FloraTarget(Rank = 0)] private readonly Linear none = Linear(8, 4);
                [FloraTarget(AdapterSize = -1)] private readonly Linear bottleneck = Linear(8, 4);
            """, "[FloraModel(AdaLoraTargetRank = 16, AdaLoraInitRank = 12)]"));
        Assert.Equal(new[] { "Set AdaLoraInitRank = 16", "Set R3 = 3", "Use OutRank = 16, InRank = 1", "Remove R3", "Set Scale = 0.4", "Remove AdapterSize" }, titles);
    }

    [Fact]
    [Trait("Diagnostic", "FLORA003")]
    public Task Fix_all_fixes_every_diagnostic_of_the_document() =>
        // Five FLORA003 in one document: Fix All (document, project, solution) fixes them in one pass, as one by one does.
        VerifyFix<RankAnalyzer, ReplaceAttributeArgumentCodeFix>.FixAsync(Model("""
                [FloraTarget({|FLORA003:Rank = 16|}, R3 = 2)] private readonly Conv2d conv1 = Conv2d(1, 32, 3, padding: 1);
                [FloraTarget({|FLORA003:Rank = 64|})] private readonly Linear head = Linear(16, 10);
                [FloraTarget({|FLORA003:OutRank = 64|}, {|FLORA003:InRank = 20|})] private readonly Linear fc = Linear(16, 10);
                [FloraTarget({|FLORA003:Rank = 4|})] private readonly Conv2d dw = Conv2d(8, 8, 7, padding: 3, groups: 8);
            """), Model("""
                [FloraTarget(OutRank = 16, InRank = 1, R3 = 2)] private readonly Conv2d conv1 = Conv2d(1, 32, 3, padding: 1);
                [FloraTarget(Rank = 10)] private readonly Linear head = Linear(16, 10);
                [FloraTarget(OutRank = 10, InRank = 16)] private readonly Linear fc = Linear(16, 10);
                [FloraTarget(OutRank = 4, InRank = 1)] private readonly Conv2d dw = Conv2d(8, 8, 7, padding: 3, groups: 8);
            """), test => test.NumberOfFixAllIterations = 1);

    [Fact]
    public Task Fix_all_works_per_diagnostic_id() =>
        // The equivalence keys are per id: Fix All from a FLORA003 fixes the FLORA003s; one pass per id fixes everything.
        VerifyFix<RankAnalyzer, ReplaceAttributeArgumentCodeFix>.FixAsync(Model("""
                [FloraTarget({|FLORA003:Rank = 16|}, R3 = 2)] private readonly Conv2d conv1 = Conv2d(1, 32, 3, padding: 1);
                [FloraTarget({|FLORA003:Rank = 64|})] private readonly Linear head = Linear(16, 10);
                [FloraTarget(Rank = 2, {|FLORA004:R3 = 4|})] private readonly Conv2d conv = Conv2d(3, 8, 3);
                [FloraTarget(Rank = 2, {|FLORA004:R3 = 2|})] private readonly Conv1d pointwise = Conv1d(4, 4, 1);
                [FloraTarget({|FLORA005:R3 = 2|}, Scale = 4)] private readonly Linear out1 = Linear(10, 2);
                [FloraTarget(Rank = 2, {|FLORA007:Scale = 0|})] private readonly Linear out2 = Linear(10, 2);
            """), Model("""
                [FloraTarget(OutRank = 16, InRank = 1, R3 = 2)] private readonly Conv2d conv1 = Conv2d(1, 32, 3, padding: 1);
                [FloraTarget(Rank = 10)] private readonly Linear head = Linear(16, 10);
                [FloraTarget(Rank = 2, R3 = 3)] private readonly Conv2d conv = Conv2d(3, 8, 3);
                [FloraTarget(Rank = 2, R3 = 1)] private readonly Conv1d pointwise = Conv1d(4, 4, 1);
                [FloraTarget(Scale = 4)] private readonly Linear out1 = Linear(10, 2);
                [FloraTarget(Rank = 2, Scale = 0.4)] private readonly Linear out2 = Linear(10, 2);
            """), test => test.NumberOfFixAllIterations = 4);
}
