using System.Globalization;
using System.Text.RegularExpressions;
using Flora.Generators;
using Microsoft.CodeAnalysis.CSharp;

namespace Flora.Analyzers.Tests;

/// <summary>
/// The generator's <c>FloraTrainableParameters</c> and FLORA008's count come from one model reader: for nested models,
/// norm layers under <c>SaveNormLayers</c> and modules the source hides, both give the count worked out by hand, or
/// neither gives one.
/// </summary>
[Trait("Diagnostic", "FLORA008")]
public sealed partial class CountAgreementTests
{
    /// <summary>
    /// Block's fc Linear(16, 16) at Net's Rank 2 (not Block's 4): 2·2 + 16·2 + 16·2 = 68; Net's head Linear(16, 4) at
    /// Rank 2: 2·2 + 4·2 + 16·2 = 44. 112 in all.
    /// </summary>
    private const long NestedCount = 112;

    /// <summary>Under SaveNormLayers Block's bn and Net's norm, BatchNorm1d(16) each, add 2·16 apiece: 176.</summary>
    private const long NestedWithNormsCount = NestedCount + 2 * 32;

    private static string Nested(bool saveNormLayers, string extraMember = "") => $$"""
        [FloraModel(Rank = 4)]
        public partial class Block : Module<Tensor, Tensor>
        {
            [FloraTarget] private readonly Linear fc = Linear(16, 16);
            private readonly BatchNorm1d bn = BatchNorm1d(16);
            public Block() : base(nameof(Block)) => RegisterComponents();
            public override Tensor forward(Tensor x) => bn.call(fc.call(x));
        }

        [FloraModel(Rank = 2, SaveNormLayers = {{(saveNormLayers ? "true" : "false")}}, MaxTrainableParameters = 1)]
        public partial class Net : Module<Tensor, Tensor>
        {
            private readonly Block block = new Block();
            private readonly BatchNorm1d norm = BatchNorm1d(16);
            [FloraTarget] private readonly Linear head = Linear(16, 4);
            {{extraMember}}
            public Net() : base(nameof(Net)) => RegisterComponents();
            public override Tensor forward(Tensor x) => head.call(norm.call(block.call(x)));
        }
        """;

    [Fact]
    public async Task A_nested_model_counts_its_targets_at_the_outer_model_s_ranks()
    {
        var (constant, reported) = await CountsOf(Nested(saveNormLayers: false), "Net");
        Assert.Equal(NestedCount, constant);
        Assert.Equal(NestedCount, reported);
    }

    [Fact]
    public async Task SaveNormLayers_counts_the_norm_layers_of_the_outer_and_the_nested_model()
    {
        var (constant, reported) = await CountsOf(Nested(saveNormLayers: true), "Net");
        Assert.Equal(NestedWithNormsCount, constant);
        Assert.Equal(NestedWithNormsCount, reported);
    }

    [Fact]
    public async Task FLORA008_lists_a_nested_target_by_its_path()
    {
        var diagnostic = Assert.Single(await BudgetDiagnostics(Nested(saveNormLayers: true)));
        Assert.Equal("'Net' trains 176 parameters, over its budget of 1 (MaxTrainableParameters). Largest: block.fc 68, head 44, block.bn 32. "
                     + "Lower their ranks or raise the budget.", diagnostic.GetMessage(CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData("private readonly Sequential body = Sequential(Linear(4, 4), BatchNorm1d(4));", true)]
    [InlineData("private readonly ModuleList<Block> more = ModuleList(new Block());", false)]
    public async Task Modules_the_source_does_not_pin_down_leave_neither_a_constant_nor_FLORA008(string member, bool saveNormLayers)
    {
        var (constant, reported) = await CountsOf(Nested(saveNormLayers, member), "Net");
        Assert.Null(constant);
        Assert.Null(reported);
    }

    /// <summary>The generator's constant of <paramref name="type"/> and the count FLORA008 reports (its budget is 1), each null when absent.</summary>
    private static async Task<(long? Constant, long? Reported)> CountsOf(string source, string type)
    {
        var compilation = TestReferences.Compile(source);
        CSharpGeneratorDriver.Create(new FloraGenerator()).RunGeneratorsAndUpdateCompilation(compilation, out var output, out var problems);
        Assert.Empty(problems);
        var field = output.GetTypeByMetadataName(type)?.GetMembers("FloraTrainableParameters").OfType<IFieldSymbol>().SingleOrDefault();
        var diagnostic = (await BudgetDiagnostics(source)).SingleOrDefault();
        long? reported = diagnostic is null
            ? null
            : long.Parse(TrainsCount().Match(diagnostic.GetMessage(CultureInfo.InvariantCulture)).Groups[1].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture);
        return ((long?)field?.ConstantValue, reported);
    }

    private static async Task<ImmutableArray<Diagnostic>> BudgetDiagnostics(string source) =>
        await TestReferences.Compile(source).WithAnalyzers(ImmutableArray.Create<DiagnosticAnalyzer>(new BudgetAnalyzer())).GetAnalyzerDiagnosticsAsync();

    [GeneratedRegex(@"trains ([\d,]+) parameters")]
    private static partial Regex TrainsCount();
}
