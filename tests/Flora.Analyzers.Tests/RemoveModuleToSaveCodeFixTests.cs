using Flora.Analyzers.CodeFixes;

namespace Flora.Analyzers.Tests;

/// <summary>The fix of FLORA011: remove [FloraModuleToSave], from its list or with its list, keeping the layout tidy.</summary>
[Trait("Fix", "RemoveModuleToSaveCodeFix")]
[Trait("Diagnostic", "FLORA011")]
public sealed class RemoveModuleToSaveCodeFixTests
{
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
    public Task The_attribute_goes_from_a_shared_list() =>
        VerifyFix<ModuleToSaveAnalyzer, RemoveModuleToSaveCodeFix>.FixAsync(Model("""
                [FloraTarget, {|FLORA011:FloraModuleToSave|}] private readonly Linear a = Linear(16, 10);
                [{|FLORA011:FloraModuleToSave|}, FloraTarget(Rank = 2)] private readonly Linear b = Linear(16, 10);
                [FloraTarget(Rank = 2), {|FLORA011:FloraModuleToSave|}, System.Obsolete] private readonly Linear c = Linear(16, 10);
            """), Model("""
                [FloraTarget] private readonly Linear a = Linear(16, 10);
                [FloraTarget(Rank = 2)] private readonly Linear b = Linear(16, 10);
                [FloraTarget(Rank = 2), System.Obsolete] private readonly Linear c = Linear(16, 10);
            """), title: null);

    [Fact]
    public Task A_list_left_empty_goes_whole_on_the_same_line() =>
        VerifyFix<ModuleToSaveAnalyzer, RemoveModuleToSaveCodeFix>.FixAsync(Model("""
                [{|FLORA011:FloraModuleToSave|}] private readonly int width = 4;
                [FloraTarget] [{|FLORA011:FloraModuleToSave|}] private readonly Linear fc = Linear(16, 10);
            """), Model("""
                private readonly int width = 4;
                [FloraTarget] private readonly Linear fc = Linear(16, 10);
            """));

    [Fact]
    public Task A_list_on_its_own_line_goes_with_its_line_and_comments_stay() =>
        VerifyFix<ModuleToSaveAnalyzer, RemoveModuleToSaveCodeFix>.FixAsync(Model("""
                /// <summary>The width.</summary>
                [{|FLORA011:FloraModuleToSave|}]
                private readonly int width = 4;

                [FloraTarget]
                [{|FLORA011:FloraModuleToSave|}]
                public Linear Head { get; } = Linear(16, 10);
            """), Model("""
                /// <summary>The width.</summary>
                private readonly int width = 4;

                [FloraTarget]
                public Linear Head { get; } = Linear(16, 10);
            """));

    [Fact]
    public Task The_title_names_the_attribute() =>
        VerifyFix<ModuleToSaveAnalyzer, RemoveModuleToSaveCodeFix>.FixAsync(Model("""
                [FloraTarget, {|FLORA011:FloraModuleToSave|}] private readonly Linear fc = Linear(16, 10);
            """), Model("""
                [FloraTarget] private readonly Linear fc = Linear(16, 10);
            """), title: "Remove [FloraModuleToSave]");

    [Fact]
    public async Task Static_members_and_indexers_get_no_fix()
    {
        var titles = await VerifyFix<ModuleToSaveAnalyzer, RemoveModuleToSaveCodeFix>.TitlesAsync(Model("""
                [FloraModuleToSave] private static readonly Linear shared = Linear(4, 4);
                [FloraModuleToSave] public Linear this[int i] => Linear(4, 4);
                [FloraModuleToSave] private readonly int width = 4;
            """));
        Assert.Equal(new[] { "Remove [FloraModuleToSave]" }, titles);
    }

    [Fact]
    public Task Fix_all_removes_every_one_of_the_document() =>
        VerifyFix<ModuleToSaveAnalyzer, RemoveModuleToSaveCodeFix>.FixAsync(Model("""
                [FloraTarget, {|FLORA011:FloraModuleToSave|}] private readonly Linear a = Linear(16, 10);
                [{|FLORA011:FloraModuleToSave|}] private readonly int width = 4;
                [{|FLORA011:FloraModuleToSave|}]
                private readonly float height = 4;
            """), Model("""
                [FloraTarget] private readonly Linear a = Linear(16, 10);
                private readonly int width = 4;
                private readonly float height = 4;
            """), test => test.NumberOfFixAllIterations = 1);
}
