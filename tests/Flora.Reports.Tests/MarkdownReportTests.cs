using System.IO;

namespace Flora.Reports.Tests;

public sealed class MarkdownReportTests
{
    [Fact]
    public void ReportHasTitleSettingsTableComparisonsPlotsAndHowToRead()
    {
        List<RunResult> runs = FakeRuns.Realistic(seeds: 3);
        Summary summary = Summary.Compute(runs);
        IReadOnlyList<PairedComparison> comparisons = PairedComparison.FloraAgainstBaselines(runs);
        var settings = new[]
        {
            KeyValuePair.Create("Dataset", "Fashion-MNIST"),
            KeyValuePair.Create("Epochs", "6"),
        };
        PlotLink[] plots = [new("Accuracy vs parameters", "accuracy_vs_parameters.png"), new("Per epoch", "plots/accuracy per epoch.png")];

        string md = MarkdownReport.Build("FLoRA vs LoRA vs DoRA", settings, summary, comparisons, plots);
        string[] lines = md.Split('\n');

        Assert.Equal("# FLoRA vs LoRA vs DoRA", lines[0]);
        Assert.Contains("- **Dataset**: Fashion-MNIST", lines);
        Assert.Contains("- **Epochs**: 6", lines);
        Assert.Contains(ResultsTableWriter.ToMarkdown(summary), md, StringComparison.Ordinal);
        Assert.Contains("## Paired comparisons (same seeds)", lines);
        Assert.All(comparisons, c => Assert.Contains("- " + c.Verdict, lines));
        Assert.Equal(4, lines.Count(l => l.StartsWith("  - per seed (pts): seed 1 ", StringComparison.Ordinal)));
        Assert.Contains("![Accuracy vs parameters](accuracy_vs_parameters.png)", lines);
        Assert.Contains("![Per epoch](plots/accuracy%20per%20epoch.png)", lines);
        Assert.Contains("## How to read this", lines);
        Assert.Contains(lines, l => l.StartsWith("24 runs of 8 methods", StringComparison.Ordinal));
        Assert.DoesNotContain("Warnings", md, StringComparison.Ordinal);

        // The table rows sit between the header and the line after the last row.
        int header = Array.IndexOf(lines, lines.First(l => l.StartsWith("| Method |", StringComparison.Ordinal)));
        Assert.All(lines.Skip(header + 2).Take(8), row => Assert.StartsWith("| ", row, StringComparison.Ordinal));
    }

    [Fact]
    public void WarningsAreListedAndWriteIsAtomic()
    {
        Summary summary = Summary.Compute(
        [
            FakeRuns.Run("LoRA", 1, 0.9, trainable: 100),
            FakeRuns.Run("LoRA", 2, 0.9, trainable: 200),
        ]);
        string directory = FakeRuns.TempDirectory();
        string path = Path.Combine(directory, "results.md");
        File.WriteAllText(path, "an older report");

        MarkdownReport.Write(path, "T", [], summary, [], []);

        string md = File.ReadAllText(path);
        Assert.StartsWith("# T\n\n## Results\n", md, StringComparison.Ordinal);
        Assert.Contains("**Warnings**", md, StringComparison.Ordinal);
        Assert.Contains("parameter counts differ", md, StringComparison.Ordinal);
        Assert.DoesNotContain("## Paired comparisons", md, StringComparison.Ordinal);
        Assert.DoesNotContain("## Plots", md, StringComparison.Ordinal);
        Assert.Equal([path], Directory.GetFiles(directory));
        Directory.Delete(directory, recursive: true);
    }
}
