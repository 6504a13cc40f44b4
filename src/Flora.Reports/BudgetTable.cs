using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace Flora.Reports;

/// <summary>One FLoRA configuration against the LoRA and DoRA matched to its budget.</summary>
/// <param name="Flora">FLoRA at this budget (a scale variant has a row of its own).</param>
/// <param name="Lora">LoRA at the same budget, or null when it did not run.</param>
/// <param name="Dora">DoRA at the same budget, or null when it did not run.</param>
/// <param name="AgainstLora">FLoRA − LoRA paired by seed, or null.</param>
/// <param name="AgainstDora">FLoRA − DoRA paired by seed, or null.</param>
public sealed record BudgetRow(MethodSummary Flora, MethodSummary? Lora, MethodSummary? Dora, PairedComparison? AgainstLora, PairedComparison? AgainstDora)
{
    /// <summary>The seeds a comparison within two standard deviations should have (the sweep's rule: 3 seeds a point, 5 where it is close).</summary>
    public const int SeedsWhenClose = 5;

    /// <summary>
    /// Whether a baseline's mean lies within two standard deviations (the larger of the two methods') of FLoRA's while
    /// fewer than <see cref="SeedsWhenClose"/> seeds are paired: such a difference needs more seeds to say anything.
    /// </summary>
    public bool NeedsMoreSeeds => Close(Lora, AgainstLora) || Close(Dora, AgainstDora);

    private bool Close(MethodSummary? baseline, PairedComparison? paired) =>
        baseline is not null && paired is not null && paired.Pairs < SeedsWhenClose
        && Math.Abs(Flora.MeanAccuracy - baseline.MeanAccuracy) < 2 * Math.Max(Flora.StdAccuracy, baseline.StdAccuracy);
}

/// <summary>
/// The budget view of a comparison (results.md's "By budget" section): per FLoRA configuration, ascending in trainable
/// parameters, its share of the model, the three methods' accuracies and the paired FLoRA − LoRA / − DoRA intervals.
/// </summary>
public static class BudgetTable
{
    /// <summary>The rows: one per FLoRA method of <paramref name="summary"/>, ordered by FLoRA's trainable count.</summary>
    public static IReadOnlyList<BudgetRow> Rows(Summary summary, IReadOnlyList<PairedComparison> comparisons)
    {
        ArgumentNullException.ThrowIfNull(summary);
        ArgumentNullException.ThrowIfNull(comparisons);
        MethodSummary? Baseline(MethodKind kind, string? budget) =>
            summary.Methods.FirstOrDefault(m => m.Kind == kind && string.Equals(m.Budget, budget, StringComparison.Ordinal));
        PairedComparison? Paired(MethodSummary flora, MethodSummary? baseline) => baseline is null ? null :
            comparisons.FirstOrDefault(c => c.MethodA == flora.Method && c.MethodB == baseline.Method);
        return summary.Methods.Where(m => m.Kind == MethodKind.Flora).OrderBy(m => m.TrainableParameters).Select(flora =>
        {
            var lora = Baseline(MethodKind.Lora, flora.Budget);
            var dora = Baseline(MethodKind.Dora, flora.Budget);
            return new BudgetRow(flora, lora, dora, Paired(flora, lora), Paired(flora, dora));
        }).ToList();
    }

    /// <summary>The section as markdown (empty when there is no FLoRA method).</summary>
    public static string ToMarkdown(Summary summary, IReadOnlyList<PairedComparison> comparisons)
    {
        var rows = Rows(summary, comparisons);
        if (rows.Count == 0) return string.Empty;
        var md = new StringBuilder("## By budget\n\n");
        int maxRuns = summary.MaxRuns;
        string[] header = ["FLoRA", "% of model", "FLoRA", "LoRA", "DoRA", "FLoRA − LoRA (95% CI)", "FLoRA − DoRA (95% CI)"];
        var cells = rows.Select(row => new[]
        {
            row.Flora.Method,
            ReportFormat.Share(row.Flora.TrainablePercent),
            ReportFormat.Accuracy(row.Flora, maxRuns),
            row.Lora is null ? "–" : ReportFormat.Accuracy(row.Lora, maxRuns),
            row.Dora is null ? "–" : ReportFormat.Accuracy(row.Dora, maxRuns),
            Interval(row.AgainstLora),
            Interval(row.AgainstDora),
        }).ToArray();
        md.Append(new TextTable(header, cells, header.Select((_, c) => c > 0).ToArray()).ToMarkdown());
        var close = rows.Where(r => r.NeedsMoreSeeds).ToList();
        md.Append('\n');
        if (close.Count > 0)
        {
            md.Append(CultureInfo.InvariantCulture, $"Within two standard deviations of a baseline on fewer than {BudgetRow.SeedsWhenClose} seeds (run more seeds, e.g. `--resume --seeds {BudgetRow.SeedsWhenClose}`): ")
              .AppendJoin(", ", close.Select(r => r.Flora.Method)).Append(".\n\n");
        }
        return md.ToString();
    }

    /// <summary>"−0.55 (−0.77…−0.32)", "+0.10 (1 seed)", or "–" when there is no comparison.</summary>
    private static string Interval(PairedComparison? paired)
    {
        if (paired is null || paired.Pairs == 0) return "–";
        string mean = ReportFormat.Signed(100.0 * paired.MeanDifference);
        return paired.Outcome == PairedOutcome.TooFewPairs
            ? $"{mean} ({paired.Pairs.ToString(CultureInfo.InvariantCulture)} seed)"
            : $"{mean} ({ReportFormat.Signed(100.0 * paired.CiLow)}…{ReportFormat.Signed(100.0 * paired.CiHigh)}){(paired.Outcome == PairedOutcome.NoClearDifference ? "" : " *")}";
    }
}
