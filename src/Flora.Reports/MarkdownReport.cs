using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace Flora.Reports;

/// <summary>A plot image to link from results.md.</summary>
/// <param name="Caption">Alt text and caption.</param>
/// <param name="RelativePath">Path relative to results.md (forward slashes).</param>
public sealed record PlotLink(string Caption, string RelativePath);

/// <summary>results.md: title, settings, the results table, the paired comparisons, the plots and how to read them.</summary>
public static class MarkdownReport
{
    /// <summary>The text of results.md.</summary>
    /// <param name="title">The level-1 heading.</param>
    /// <param name="settings">Run settings shown as a list (dataset, epochs, seeds, device, ...), in the given order.</param>
    /// <param name="summary">The per-method summary.</param>
    /// <param name="comparisons">Paired comparisons to list (e.g. <see cref="PairedComparison.FloraAgainstBaselines"/>).</param>
    /// <param name="plots">Images to link.</param>
    /// <param name="appendix">Markdown sections to end the report with (e.g. the learning rates chosen), or null.</param>
    public static string Build(
        string title,
        IEnumerable<KeyValuePair<string, string>> settings,
        Summary summary,
        IEnumerable<PairedComparison> comparisons,
        IEnumerable<PlotLink> plots,
        string? appendix = null)
    {
        ArgumentNullException.ThrowIfNull(title);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(summary);
        ArgumentNullException.ThrowIfNull(comparisons);
        ArgumentNullException.ThrowIfNull(plots);

        var md = new StringBuilder();
        md.Append("# ").Append(OneLine(title)).Append("\n\n");

        List<KeyValuePair<string, string>> settingList = settings.ToList();
        if (settingList.Count > 0)
        {
            md.Append("## Settings\n\n");
            foreach (KeyValuePair<string, string> setting in settingList)
            {
                md.Append("- **").Append(OneLine(setting.Key)).Append("**: ").Append(OneLine(setting.Value)).Append('\n');
            }
            md.Append('\n');
        }

        md.Append("## Results\n\n");
        md.Append(ResultsTableWriter.ToMarkdown(summary)).Append('\n');
        int runs = summary.Runs.Count;
        md.Append(CultureInfo.InvariantCulture, $"{runs} runs of {summary.Methods.Count} methods; seeds per method: ")
          .AppendJoin(", ", summary.Methods.Select(m => $"{OneLine(m.Method)} {m.Runs}"))
          .Append(".\n\n");

        if (summary.Warnings.Count > 0)
        {
            md.Append("**Warnings**\n\n");
            foreach (string warning in summary.Warnings)
            {
                md.Append("- ").Append(OneLine(warning)).Append('\n');
            }
            md.Append('\n');
        }

        List<PairedComparison> comparisonList = comparisons.ToList();
        if (comparisonList.Count > 0)
        {
            md.Append("## Paired comparisons (same seeds)\n\n");
            foreach (PairedComparison comparison in comparisonList)
            {
                md.Append("- ").Append(OneLine(comparison.Verdict)).Append('\n');
                if (comparison.Pairs > 0)
                {
                    md.Append("  - per seed (pts): ")
                      .AppendJoin(", ", comparison.Seeds.Zip(comparison.Differences, (s, d) => $"seed {s.ToString(CultureInfo.InvariantCulture)} {ReportFormat.Signed(100.0 * d)}"))
                      .Append('\n');
                }
            }
            md.Append('\n');
            md.Append(BudgetTable.ToMarkdown(summary, comparisonList));
        }

        List<PlotLink> plotList = plots.ToList();
        if (plotList.Count > 0)
        {
            md.Append("## Plots\n\n");
            foreach (PlotLink plot in plotList)
            {
                md.Append("![").Append(OneLine(plot.Caption).Replace("]", "\\]", StringComparison.Ordinal)).Append("](")
                  .Append(plot.RelativePath.Replace('\\', '/').Replace(" ", "%20", StringComparison.Ordinal)).Append(")\n\n");
            }
        }

        md.Append("## How to read this\n\n");
        md.Append("Test accuracy is the final test accuracy in percent, mean ± sample standard deviation (n − 1) over seeds; ")
          .Append("% of model is trainable / total parameters. ")
          .Append("A paired comparison takes the per-seed difference A − B over the seeds both methods ran and gives a Student-t 95% ")
          .Append("confidence interval for its mean: an interval containing 0 means these seeds show no clear difference, ")
          .Append("and even an interval excluding 0 only speaks for seed-to-seed variation on this model and data.")
          .Append(comparisonList.Count > 0 ? " In the budget table, * marks an interval that excludes 0.\n" : "\n");
        md.Append(appendix);
        return md.ToString();
    }

    /// <summary>Writes results.md atomically.</summary>
    public static void Write(
        string path,
        string title,
        IEnumerable<KeyValuePair<string, string>> settings,
        Summary summary,
        IEnumerable<PairedComparison> comparisons,
        IEnumerable<PlotLink> plots,
        string? appendix = null)
        => AtomicFile.WriteAllText(path, Build(title, settings, summary, comparisons, plots, appendix));

    private static string OneLine(string text) => text.Replace("\r", string.Empty, StringComparison.Ordinal).Replace('\n', ' ');
}
