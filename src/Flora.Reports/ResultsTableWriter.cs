using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using Spectre.Console;

namespace Flora.Reports;

/// <summary>
/// The results table (Method | Trainable params | % of model | Test accuracy (mean ± std, %) | Time/epoch | Peak memory),
/// one row per method in run order, for the console (Spectre.Console) and as markdown.
/// </summary>
public static class ResultsTableWriter
{
    /// <summary>The column headers.</summary>
    public static IReadOnlyList<string> Columns { get; } =
        ["Method", "Trainable params", "% of model", "Test accuracy (mean ± std, %)", "Time/epoch", "Peak memory"];

    private static readonly string[] ConsoleHeaders =
        ["Method", "Trainable\nparams", "% of\nmodel", "Test acc. %\n(mean ± std)", "Time/\nepoch", "Peak\nmemory"];

    /// <summary>The formatted cells, one array of <see cref="Columns"/>.Count strings per method, in run order.</summary>
    public static IReadOnlyList<string[]> Rows(Summary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        int maxRuns = summary.MaxRuns;
        return summary.Methods.Select(m => new[]
        {
            m.Method,
            ReportFormat.Count(m.TrainableParameters),
            ReportFormat.Share(m.TrainablePercent),
            ReportFormat.Accuracy(m, maxRuns),
            ReportFormat.Seconds(m.MeanSecondsPerEpoch),
            ReportFormat.Bytes(m.PeakMemoryBytes),
        }).ToList();
    }

    /// <summary>A Spectre.Console table of the summary (cells are plain text, never markup).</summary>
    public static Table BuildConsoleTable(Summary summary, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(summary);
        var table = new Table().RoundedBorder();
        if (title is not null)
        {
            table.Title = new TableTitle(Markup.Escape(title));
        }
        for (int c = 0; c < Columns.Count; c++)
        {
            // Two-line headers keep the table inside 80 columns, so the cells need not wrap ("91.23 ±" / "0.15" reads badly).
            var column = new TableColumn(new Text(ConsoleHeaders[c], new Style(decoration: Decoration.Bold))) { NoWrap = true };
            table.AddColumn(c == 0 ? column.LeftAligned() : column.RightAligned());
        }
        foreach (string[] row in Rows(summary))
        {
            table.AddRow(row.Select(cell => (Spectre.Console.Rendering.IRenderable)new Text(cell)).ToArray());
        }
        return table;
    }

    /// <summary>Writes the table, the paired comparisons' verdicts and any warnings to <paramref name="console"/>.</summary>
    public static void Write(IAnsiConsole console, Summary summary, IEnumerable<PairedComparison>? comparisons = null, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(console);
        console.Write(BuildConsoleTable(summary, title));
        foreach (PairedComparison comparison in comparisons ?? [])
        {
            console.WriteLine(comparison.Verdict);
        }
        foreach (string warning in summary.Warnings)
        {
            console.Write(new Text("warning: " + warning, new Style(Color.Yellow)));
            console.WriteLine();
        }
    }

    /// <summary>The table as GitHub-flavoured markdown (numbers right-aligned), ending with a line break.</summary>
    public static string ToMarkdown(Summary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        return new TextTable(Columns, Rows(summary), Columns.Select((_, c) => c > 0).ToArray()).ToMarkdown();
    }
}
