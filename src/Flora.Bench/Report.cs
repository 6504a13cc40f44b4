using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;

namespace Flora.Bench;

/// <summary>Where and how a run took place, for the report's header.</summary>
internal sealed record RunInfo(string Device, string DType, int TorchThreads, string Libtorch, DateTime StartedUtc, string CommandLine,
                               BenchOptions Options, string MemoryNote, double? OthersCpuPercent);

/// <summary>Console and markdown tables of the results.</summary>
internal static class Report
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>Within this relative difference of their medians, factorised and materialised count as a tie.</summary>
    public const double TieTolerance = 0.05;

    public static string VariantName(Variant variant) => variant switch
    {
        Variant.Base => "base (frozen)",
        Variant.Factorised => "FLoRA factorised",
        Variant.Materialised => "FLoRA materialised",
        Variant.Merged => "FLoRA merged",
        _ => variant.ToString(),
    };

    public static string PathName(FloraForwardPath path) => path switch
    {
        FloraForwardPath.Factorised => "factorised",
        FloraForwardPath.Materialised => "materialised",
        _ => "auto",
    };

    public static IReadOnlyList<string[]> MainRows(IReadOnlyList<LayerResult> results) =>
        results.SelectMany(r => r.Variants.Select(v => new[]
        {
            r.Spec.Name,
            r.Spec.InputText,
            VariantName(v.Variant),
            Ms(v.MedianMs),
            Ms(v.MinMs),
            v.Variant == Variant.Base ? "1.00" : r.Ratio(v.Variant).ToString("0.00", Invariant),
            v.PeakMiB is double mib ? mib.ToString("0.0", Invariant) : "n/a",
            PathName(r.Auto),
        })).ToArray();

    public static readonly string[] MainHeader = { "Layer", "Input", "Variant", "Median ms", "Min ms", "× base", "Peak RSS Δ MiB", "Auto picks" };

    public static IReadOnlyList<string[]> ModelRows(IReadOnlyList<LayerResult> results) =>
        results.Select(r =>
        {
            double f = r[Variant.Factorised].MedianMs, m = r[Variant.Materialised].MedianMs;
            FloraForwardPath faster = f <= m ? FloraForwardPath.Factorised : FloraForwardPath.Materialised;
            bool tie = Math.Abs(f - m) / Math.Min(f, m) < TieTolerance;
            string verdict = tie ? "tie (<5%)" : faster == r.Auto ? "yes" : "**no**";
            return new[]
            {
                r.Spec.Name,
                r.Adapter,
                r.AdapterParameters.ToString("N0", Invariant),
                Macs(r.Cost.FactorisedMacs),
                Macs(r.Cost.MaterialisedMacs),
                PathName(r.Auto),
                $"{PathName(faster)} ({Math.Max(f, m) / Math.Min(f, m):0.00}×)",
                verdict,
                r.UpdateMismatch.ToString("0.0e+0", Invariant),
                r.OthersCpuPercent is double others ? others.ToString("0", Invariant) + "%" : "n/a",
            };
        }).ToArray();

    public static readonly string[] ModelHeader =
        { "Layer", "Adapter", "Params", "Fact. MACs", "Mat. MACs", "Auto picks", "Measured faster (step)", "Auto right?", "Fact./mat. mismatch", "Others' CPU" };

    public static void WriteConsole(TextWriter output, RunInfo info, IReadOnlyList<LayerResult> results)
    {
        output.WriteLine();
        output.WriteLine($"Training step (forward + sum loss + backward), median of {info.Options.Iterations} after {info.Options.Warmup} warm-up; × base = median / base median.");
        output.WriteLine(Table(MainHeader, MainRows(results), markdown: false));
        output.WriteLine();
        output.WriteLine("Cost model (forward multiply-adds) against the measured step:");
        output.WriteLine(Table(ModelHeader, ModelRows(results), markdown: false).Replace("**", ""));
        output.WriteLine();
        output.WriteLine("Peak RSS Δ: " + info.MemoryNote);
        if (info.OthersCpuPercent is double others)
            output.WriteLine($"Other processes took {others:0}% of the machine's CPU time while timing (per layer in the last column above).");
    }

    public static string Markdown(RunInfo info, IReadOnlyList<LayerResult> results)
    {
        var md = new StringBuilder();
        BenchOptions o = info.Options;
        md.AppendLine($"- Device: {info.Device}");
        md.AppendLine($"- dtype: {info.DType}");
        md.AppendLine($"- torch threads: {info.TorchThreads}");
        md.AppendLine($"- libtorch: {info.Libtorch}");
        md.AppendLine($"- Date: {info.StartedUtc.ToString("yyyy-MM-dd HH:mm", Invariant)} UTC");
        md.AppendLine($"- Command: `{info.CommandLine}`");
        md.AppendLine("- Other processes' CPU use while timing: " + (info.OthersCpuPercent is double others
            ? $"{others.ToString("0", Invariant)}% of the machine's CPU time (per layer in the last table; from /proc/stat)"
            : "not measured"));
        md.AppendLine($"- FLoRA: rank {o.Rank}, R3 {o.R3}, scale {o.Scale.ToString(Invariant)}; batch {o.Batch}; " +
                      $"{o.Warmup} warm-up + {o.Iterations} timed steps per variant");
        md.AppendLine();
        md.AppendLine(Table(MainHeader, MainRows(results), markdown: true));
        md.AppendLine();
        md.AppendLine("Peak RSS Δ: " + info.MemoryNote);
        md.AppendLine();
        md.AppendLine("Cost model (forward multiply-adds, what `FloraForwardPath.Auto` compares) against the measured training step; " +
                      "\"Measured faster\" compares the factorised and materialised medians above; the mismatch is " +
                      "max |Δ_fact(x) − Δ_mat(x)| / max |Δ_mat(x)| of the two paths' updates; \"Others' CPU\" is the share of the " +
                      "machine's CPU time other processes took while the layer was timed:");
        md.AppendLine();
        md.AppendLine(Table(ModelHeader, ModelRows(results), markdown: true));
        return md.ToString();
    }

    private static string Table(string[] header, IReadOnlyList<string[]> rows, bool markdown)
    {
        int[] widths = header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        bool[] numeric = header.Select((_, i) => rows.Count > 0 && rows.All(r => r[i].Length > 0 && (char.IsDigit(r[i][0]) || r[i] == "n/a"))).ToArray();
        string Line(string[] cells) => markdown
            ? "| " + string.Join(" | ", cells.Select((c, i) => numeric[i] ? c.PadLeft(widths[i]) : c.PadRight(widths[i]))) + " |"
            : string.Join("  ", cells.Select((c, i) => numeric[i] ? c.PadLeft(widths[i]) : c.PadRight(widths[i]))).TrimEnd();
        var sb = new StringBuilder();
        sb.AppendLine(Line(header));
        sb.AppendLine(markdown
            ? "|" + string.Join("|", widths.Select((w, i) => numeric[i] ? new string('-', w + 1) + ":" : new string('-', w + 2))) + "|"
            : string.Join("  ", widths.Select(w => new string('-', w))));
        string? previous = null;
        foreach (string[] row in rows)
        {
            if (!markdown && previous is not null && previous != row[0] && header[2] == "Variant")
                sb.AppendLine();
            sb.AppendLine(Line(row));
            previous = row[0];
        }
        return sb.ToString().TrimEnd();
    }

    private static string Ms(double ms) => ms >= 100 ? ms.ToString("0.0", Invariant) : ms >= 10 ? ms.ToString("0.00", Invariant) : ms.ToString("0.000", Invariant);

    private static string Macs(double macs) => macs switch
    {
        >= 1e9 => (macs / 1e9).ToString("0.00", Invariant) + " G",
        >= 1e6 => (macs / 1e6).ToString("0.00", Invariant) + " M",
        >= 1e3 => (macs / 1e3).ToString("0.00", Invariant) + " k",
        _ => macs.ToString("0", Invariant),
    };
}
