using System.IO;
using System.Text.RegularExpressions;
using Spectre.Console;

namespace Flora.Reports.Tests;

public sealed class ResultsTableWriterTests
{
    private static Summary Sample() => Summary.Compute(
    [
        FakeRuns.Run("Full fine-tuning", 1, 0.90, MethodKind.FullFineTuning, null, 113_738, 113_738, secondsPerEpoch: 14.25, peakBytes: 157_286_400),
        FakeRuns.Run("Full fine-tuning", 2, 0.92, MethodKind.FullFineTuning, null, 113_738, 113_738, secondsPerEpoch: 14.75, peakBytes: 150_000_000),
        FakeRuns.Run("Full fine-tuning", 3, 0.94, MethodKind.FullFineTuning, null, 113_738, 113_738, secondsPerEpoch: 14.5, peakBytes: 140_000_000),
        FakeRuns.Run("BitFit", 1, 0.85, MethodKind.BitFit, null, 394, 113_738, secondsPerEpoch: 9.126, peakBytes: null),
        FakeRuns.Run("Odd | label", 1, 0.80, MethodKind.Other, "A", 2_500, 100_000, secondsPerEpoch: 150, peakBytes: 2_048),
        FakeRuns.Run("Odd | label", 2, 0.82, MethodKind.Other, "A", 2_500, 100_000, secondsPerEpoch: 150, peakBytes: 2_048),
        FakeRuns.Run("Odd | label", 3, 0.84, MethodKind.Other, "A", 2_500, 100_000, secondsPerEpoch: 150, peakBytes: 2_048),
    ]);

    /// <summary>Cells of a markdown row, splitting on pipes that are not escaped.</summary>
    private static string[] Cells(string row)
    {
        Assert.StartsWith("| ", row, StringComparison.Ordinal);
        Assert.EndsWith(" |", row, StringComparison.Ordinal);
        string inner = row[2..^2];
        return Regex.Split(inner, @"(?<!\\) \| ").Select(c => c.Replace("\\|", "|", StringComparison.Ordinal)).ToArray();
    }

    [Fact]
    public void MarkdownTableHasSixColumnsPerRowAndFormattedValues()
    {
        string markdown = ResultsTableWriter.ToMarkdown(Sample());
        string[] lines = markdown.TrimEnd('\n').Split('\n');

        Assert.Equal(2 + 3, lines.Length); // header, alignment, one row per method
        Assert.Equal(ResultsTableWriter.Columns, Cells(lines[0]));
        Assert.Equal("|---|--:|--:|--:|--:|--:|", lines[1]);
        Assert.All(lines.Skip(2), line => Assert.Equal(6, Cells(line).Length));

        Assert.Equal(["Full fine-tuning", "113,738", "100.0%", "92.00 ± 2.00", "14.5 s", "150.0 MiB"], Cells(lines[2]));
        Assert.Equal(["BitFit", "394", "0.35%", "85.00 (n=1)", "9.13 s", "n/a"], Cells(lines[3]));
        Assert.Equal(["Odd | label", "2,500", "2.50%", "82.00 ± 2.00", "2 min 30 s", "2.0 KiB"], Cells(lines[4]));
    }

    [Fact]
    public void RowsFollowTheColumns()
    {
        IReadOnlyList<string[]> rows = ResultsTableWriter.Rows(Sample());
        Assert.Equal(3, rows.Count);
        Assert.All(rows, r => Assert.Equal(ResultsTableWriter.Columns.Count, r.Length));
        Assert.Equal(["Method", "Trainable params", "% of model", "Test accuracy (mean ± std, %)", "Time/epoch", "Peak memory"], ResultsTableWriter.Columns);
    }

    [Fact]
    public void ConsoleTableShowsEveryMethodAndTheVerdicts()
    {
        var writer = new StringWriter();
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = 200;
        List<RunResult> runs = FakeRuns.Realistic(seeds: 2);
        Summary summary = Summary.Compute(runs);
        IReadOnlyList<PairedComparison> comparisons = PairedComparison.FloraAgainstBaselines(runs);

        ResultsTableWriter.Write(console, summary, comparisons, title: "Fashion-MNIST [fake]");
        string text = writer.ToString();

        Assert.Contains("Fashion-MNIST [fake]", text, StringComparison.Ordinal);
        Assert.Equal(8, ResultsTableWriter.BuildConsoleTable(summary).Rows.Count);
        foreach (MethodSummary method in summary.Methods)
        {
            Assert.Contains(method.Method, text, StringComparison.Ordinal);
            Assert.Contains(ReportFormatAccuracy(method), text, StringComparison.Ordinal);
        }
        Assert.All(comparisons, c => Assert.Contains(c.Verdict, text, StringComparison.Ordinal));
    }

    private static string ReportFormatAccuracy(MethodSummary m) =>
        $"{(100 * m.MeanAccuracy).ToString("F2", System.Globalization.CultureInfo.InvariantCulture)} ± {(100 * m.StdAccuracy).ToString("F2", System.Globalization.CultureInfo.InvariantCulture)}";
}
