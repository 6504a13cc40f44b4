namespace Flora.Analyzers.Tests;

/// <summary>
/// The diagnostics' properties that the fixes read: ArgumentName names the marked argument, Replacement its new text
/// (empty: remove it), present only where the fix is obvious.
/// </summary>
public sealed class ReplacementPropertyTests
{
    private const string Source = """
        [FloraModel(Scale = -1)]
        public partial class Model : Module<Tensor, Tensor>
        {
            [FloraTarget(Rank = 16, R3 = 2)] private readonly Conv2d conv1 = Conv2d(1, 32, 3, padding: 1);
            [FloraTarget(Rank = 64)] private readonly Linear head = Linear(16, 10);
            [FloraTarget(OutRank = 40)] private readonly Conv1d c1 = Conv1d(4, 32, 3);
            [FloraTarget(Rank = 2, R3 = 4)] private readonly Conv3d c3 = Conv3d(2, 4, (5, 3, 4));
            [FloraTarget(R3 = 2)] private readonly Linear fc = Linear(8, 4);
            [FloraTarget(InRank = 0)] private readonly Linear zero = Linear(8, 4);
            public Model() : base(nameof(Model)) => RegisterComponents();
            public override Tensor forward(Tensor x) => x;
        }
        """;

    [Theory]
    [InlineData("FLORA003", "conv1", "Rank", "OutRank = 16, InRank = 1")]
    [InlineData("FLORA003", "head", "Rank", "Rank = 10")]
    [InlineData("FLORA003", "c1", "OutRank", "OutRank = 32")]
    [InlineData("FLORA004", "c3", "R3", "R3 = 3")]
    [InlineData("FLORA005", "fc", "R3", "")]
    [InlineData("FLORA007", "Model", "Scale", "Scale = 0.4")]
    [InlineData("FLORA002", "zero", "InRank", null)]
    public async Task Each_diagnostic_names_its_argument_and_carries_the_fix_s_text(string id, string owner, string argument, string? replacement)
    {
        var diagnostics = await TestReferences.Compile(Source)
            .WithAnalyzers(ImmutableArray.Create<DiagnosticAnalyzer>(new RankAnalyzer()))
            .GetAnalyzerDiagnosticsAsync();
        var diagnostic = Assert.Single(diagnostics, d => d.Id == id && d.GetMessage(System.Globalization.CultureInfo.InvariantCulture).Contains($"'{owner}'", StringComparison.Ordinal));
        Assert.Equal(argument, diagnostic.Properties[DiagnosticDescriptors.ArgumentName]);
        Assert.Equal(replacement, diagnostic.Properties.TryGetValue(DiagnosticDescriptors.Replacement, out var text) ? text : null);
        // The marked span is the argument itself.
        var marked = diagnostic.Location.SourceTree!.GetText().ToString(diagnostic.Location.SourceSpan);
        Assert.StartsWith(argument + " =", marked, StringComparison.Ordinal);
    }
}
