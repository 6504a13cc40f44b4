using Flora.Analyzers.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Testing;

namespace Flora.Analyzers.Tests;

/// <summary>
/// The fixes of FLORA012: <c>SaveNormLayers = true</c> (train and save) or <c>SaveNormLayers = false</c> (keep frozen), on
/// the model's <c>[FloraModel]</c> wherever it is, or as a new <c>[FloraModel(...)]</c>; once per model.
/// </summary>
[Trait("Fix", "SaveNormLayersCodeFix")]
[Trait("Diagnostic", "FLORA012")]
public sealed class SaveNormLayersCodeFixTests
{
    private static string Model(string attribute, string members) => $$"""
        {{attribute}}
        public partial class Net : Module<Tensor, Tensor>
        {
            [FloraTarget] private readonly Linear fc = Linear(16, 16);
        {{members}}
            public Net() : base(nameof(Net)) => RegisterComponents();
            public override Tensor forward(Tensor x) => fc.call(x);
        }
        """;

    private static Task FixAsync(string source, string fixedSource, int index, int fixAllIterations = 1) =>
        VerifyFix<NormLayerAnalyzer, SaveNormLayersCodeFix>.FixAsync(source, fixedSource, test =>
        {
            test.CodeActionIndex = index;
            test.CodeActionEquivalenceKey = index == 0 ? "SaveNormLayersCodeFix.true" : "SaveNormLayersCodeFix.false";
            test.NumberOfFixAllIterations = fixAllIterations;
        });

    [Fact]
    public Task True_is_added_after_the_model_s_own_arguments() =>
        FixAsync(
            Model("[FloraModel(Rank = 8, R3 = 2)]", "    private readonly BatchNorm2d {|FLORA012:bn|} = BatchNorm2d(32);"),
            Model("[FloraModel(Rank = 8, R3 = 2, SaveNormLayers = true)]", "    private readonly BatchNorm2d bn = BatchNorm2d(32);"),
            index: 0);

    [Fact]
    public Task False_is_the_second_fix() =>
        FixAsync(
            Model("[FloraModel(Rank = 8)]", "    private readonly BatchNorm2d {|FLORA012:bn|} = BatchNorm2d(32);"),
            Model("[FloraModel(Rank = 8, SaveNormLayers = false)]", "    private readonly BatchNorm2d bn = BatchNorm2d(32);"),
            index: 1);

    [Fact]
    public Task An_attribute_without_arguments_gets_its_parentheses() =>
        FixAsync(
            Model("[FloraModel] // the defaults", "    private readonly BatchNorm2d {|FLORA012:bn|} = BatchNorm2d(32);"),
            Model("[FloraModel(SaveNormLayers = true)] // the defaults", "    private readonly BatchNorm2d bn = BatchNorm2d(32);"),
            index: 0);

    [Fact]
    public Task Several_layers_of_one_model_set_it_once() =>
        FixAsync(
            Model("[FloraModel(Rank = 4)]", """
                    private readonly BatchNorm2d {|FLORA012:bn1|} = BatchNorm2d(8);
                    private readonly BatchNorm2d {|FLORA012:bn2|} = BatchNorm2d(8);
                """),
            Model("[FloraModel(Rank = 4, SaveNormLayers = false)]", """
                    private readonly BatchNorm2d bn1 = BatchNorm2d(8);
                    private readonly BatchNorm2d bn2 = BatchNorm2d(8);
                """),
            index: 1);

    [Fact]
    public Task A_model_with_only_targets_gets_the_attribute_on_its_own_line_after_its_documentation() =>
        FixAsync("""
            namespace Zoo
            {
                /// <summary>A model with targets only.</summary>
                [System.Serializable]
                public partial class Net : Module<Tensor, Tensor>
                {
                    [FloraTarget] private readonly Linear fc = Linear(16, 16);
                    private readonly BatchNorm1d {|FLORA012:bn|} = BatchNorm1d(16);
                    private readonly BatchNorm1d {|FLORA012:bn2|} = BatchNorm1d(16);
                    public Net() : base(nameof(Net)) => RegisterComponents();
                    public override Tensor forward(Tensor x) => bn2.call(bn.call(fc.call(x)));
                }
            }
            """, """
            namespace Zoo
            {
                /// <summary>A model with targets only.</summary>
                [FloraModel(SaveNormLayers = true)]
                [System.Serializable]
                public partial class Net : Module<Tensor, Tensor>
                {
                    [FloraTarget] private readonly Linear fc = Linear(16, 16);
                    private readonly BatchNorm1d bn = BatchNorm1d(16);
                    private readonly BatchNorm1d bn2 = BatchNorm1d(16);
                    public Net() : base(nameof(Net)) => RegisterComponents();
                    public override Tensor forward(Tensor x) => bn2.call(bn.call(fc.call(x)));
                }
            }
            """, index: 0);

    [Fact]
    public Task Nested_models_each_get_their_own_choice() =>
        FixAsync("""
            public partial class Outer : Module<Tensor, Tensor>
            {
                [FloraModuleToSave] private readonly Linear head = Linear(4, 4);
                private readonly BatchNorm1d {|FLORA012:bn|} = BatchNorm1d(4);
                public Outer() : base(nameof(Outer)) => RegisterComponents();
                public override Tensor forward(Tensor x) => head.call(bn.call(x));

                public partial class Inner : Module<Tensor, Tensor>
                {
                    [FloraTarget] private readonly Linear fc = Linear(4, 4);
                    private readonly BatchNorm1d {|FLORA012:bn|} = BatchNorm1d(4);
                    public Inner() : base(nameof(Inner)) => RegisterComponents();
                    public override Tensor forward(Tensor x) => bn.call(fc.call(x));
                }
            }
            """, """
            [FloraModel(SaveNormLayers = false)]
            public partial class Outer : Module<Tensor, Tensor>
            {
                [FloraModuleToSave] private readonly Linear head = Linear(4, 4);
                private readonly BatchNorm1d bn = BatchNorm1d(4);
                public Outer() : base(nameof(Outer)) => RegisterComponents();
                public override Tensor forward(Tensor x) => head.call(bn.call(x));

                [FloraModel(SaveNormLayers = false)]
                public partial class Inner : Module<Tensor, Tensor>
                {
                    [FloraTarget] private readonly Linear fc = Linear(4, 4);
                    private readonly BatchNorm1d bn = BatchNorm1d(4);
                    public Inner() : base(nameof(Inner)) => RegisterComponents();
                    public override Tensor forward(Tensor x) => bn.call(fc.call(x));
                }
            }
            """, index: 1);

    [Fact]
    public Task The_attribute_in_another_file_is_the_one_changed() =>
        VerifyFix<NormLayerAnalyzer, SaveNormLayersCodeFix>.FixAsync(
            new[]
            {
                """
                [FloraModel(Rank = 4)]
                public partial class Net : Module<Tensor, Tensor>
                {
                    [FloraTarget] private readonly Linear fc = Linear(16, 16);
                    public Net() : base(nameof(Net)) => RegisterComponents();
                    public override Tensor forward(Tensor x) => bn.call(fc.call(x));
                }
                """,
                """
                public partial class Net
                {
                    private readonly BatchNorm1d {|FLORA012:bn|} = BatchNorm1d(16);
                }
                """,
            },
            new[]
            {
                """
                [FloraModel(Rank = 4, SaveNormLayers = true)]
                public partial class Net : Module<Tensor, Tensor>
                {
                    [FloraTarget] private readonly Linear fc = Linear(16, 16);
                    public Net() : base(nameof(Net)) => RegisterComponents();
                    public override Tensor forward(Tensor x) => bn.call(fc.call(x));
                }
                """,
                """
                public partial class Net
                {
                    private readonly BatchNorm1d bn = BatchNorm1d(16);
                }
                """,
            });

    [Fact]
    public async Task The_titles_say_what_each_choice_does()
    {
        var titles = await VerifyFix<NormLayerAnalyzer, SaveNormLayersCodeFix>.TitlesAsync(
            Model("[FloraModel]", "    private readonly BatchNorm2d bn = BatchNorm2d(32);"));
        Assert.Equal(new[]
        {
            "Add SaveNormLayers = true to [FloraModel] (train and save the norm layers)",
            "Add SaveNormLayers = false to [FloraModel] (keep the norm layers frozen)",
        }, titles);
        titles = await VerifyFix<NormLayerAnalyzer, SaveNormLayersCodeFix>.TitlesAsync(
            Model("", "    private readonly BatchNorm2d bn = BatchNorm2d(32);"));
        Assert.Equal(new[]
        {
            "Add [FloraModel(SaveNormLayers = true)] (train and save the norm layers)",
            "Add [FloraModel(SaveNormLayers = false)] (keep the norm layers frozen)",
        }, titles);
    }
}
