using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using Flora.Reports;

namespace Flora.Bench;

/// <summary>Where and how a run took place, for the report's header.</summary>
internal sealed record RunInfo(string Device, string DType, int TorchThreads, string Libtorch, DateTime StartedUtc, string CommandLine,
                               BenchOptions Options, string MemoryNote, double? OthersCpuPercent);

/// <summary>The benchmarks' results as console and markdown tables (rendered by <see cref="TextTable"/>).</summary>
internal static class Report
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>Within this relative difference of the fastest path's median, another path counts as a tie.</summary>
    public const double TieTolerance = 0.05;

    public static string VariantName(Variant variant) => variant switch
    {
        Variant.Base => "base",
        Variant.Factorised => "FLoRA fact.",
        Variant.Materialised => "FLoRA mat.",
        Variant.Fused => "FLoRA fused",
        Variant.Lora => "LoRA",
        Variant.Dora => "DoRA",
        Variant.Merged => "merged",
        _ => variant.ToString(),
    };

    public static string PathName(FloraForwardPath path) => path switch
    {
        FloraForwardPath.Factorised => "factorised",
        FloraForwardPath.Materialised => "materialised",
        FloraForwardPath.Fused => "fused",
        _ => "auto",
    };

    // ---------------------------------------------------------------- layers

    /// <summary>One row per layer: each variant's median (and × base), then the path Auto picks for FLoRA.</summary>
    public static TextTable TimeTable(IReadOnlyList<Variant> variants, IReadOnlyList<LayerResult> results)
    {
        string[] header = new[] { "Layer", "Input" }
            .Concat(variants.Select(v => VariantName(v) + (v == Variant.Base || !variants.Contains(Variant.Base) ? " ms" : " ms (× base)")))
            .Append("Auto picks").ToArray();
        var rows = results.Select(r => new[] { r.Spec.Name, r.Spec.InputText }
            .Concat(variants.Select(v => r[v] is VariantResult result
                ? Ms(result.MedianMs) + (v != Variant.Base && r.Ratio(v) is double ratio ? $" ({ratio.ToString("0.00", Invariant)}×)" : "")
                : "n/a"))
            .Append(PathName(r.Auto)).ToArray()).ToArray();
        return new TextTable(header, rows);
    }

    /// <summary>One row per layer: each variant's peak resident-memory growth of a step.</summary>
    public static TextTable MemoryTable(IReadOnlyList<Variant> variants, IReadOnlyList<LayerResult> results)
    {
        string[] header = new[] { "Layer" }.Concat(variants.Select(v => VariantName(v) + " MiB")).ToArray();
        var rows = results.Select(r => new[] { r.Spec.Name }
            .Concat(variants.Select(v => r[v]?.PeakMiB is double mib ? mib.ToString("0.0", Invariant) : "n/a")).ToArray()).ToArray();
        return new TextTable(header, rows);
    }

    /// <summary>One row per layer: the three adapters' settings and trainable counts, and the path LoRA and DoRA took.</summary>
    public static TextTable AdapterTable(IReadOnlyList<LayerResult> results)
    {
        string[] header = { "Layer", "FLoRA", "FLoRA params", "LoRA", "LoRA params", "DoRA", "DoRA params", "LoRA path", "DoRA path" };
        var rows = results.Select(r => new[]
        {
            r.Spec.Name,
            r.Flora.Describe,
            r.Flora.Parameters.ToString("N0", Invariant),
            r.Lora.Describe,
            r.Lora.Parameters.ToString("N0", Invariant),
            r.Dora.Describe,
            r.Dora.Parameters.ToString("N0", Invariant),
            r.Lora.PathTaken is FloraForwardPath lora ? PathName(lora) : "n/a",
            r.Dora.PathTaken is FloraForwardPath dora ? PathName(dora) : "n/a",
        }).ToArray();
        return new TextTable(header, rows);
    }

    /// <summary>One row per layer: FLoRA's cost model (estimated step per path) against the measured FLoRA paths.</summary>
    public static TextTable CostTable(IReadOnlyList<LayerResult> results)
    {
        string[] header = { "Layer", "Est. fact. ms", "Est. mat. ms", "Est. fused ms", "Auto picks", "Measured fastest (step)", "Auto right?", "Update mismatch", "Others' CPU" };
        var paths = new[] { (Variant.Factorised, FloraForwardPath.Factorised), (Variant.Materialised, FloraForwardPath.Materialised), (Variant.Fused, FloraForwardPath.Fused) };
        var rows = results.Select(r =>
        {
            var measured = paths.Where(p => r[p.Item1] is not null).Select(p => (Path: p.Item2, Ms: r[p.Item1]!.MedianMs)).OrderBy(p => p.Ms).ToList();
            string fastest = "n/a", verdict = "n/a";
            if (measured.Count >= 2)
            {
                var best = measured[0];
                fastest = $"{PathName(best.Path)} ({(measured[1].Ms / best.Ms).ToString("0.00", Invariant)}× the next)";
                var picked = measured.FirstOrDefault(p => p.Path == r.Auto);
                verdict = picked.Ms == 0 ? "n/a"
                    : picked.Path == best.Path ? "yes"
                    : (picked.Ms - best.Ms) / best.Ms < TieTolerance ? "tie (<5%)"
                    : $"**no** (+{((picked.Ms / best.Ms - 1) * 100).ToString("0", Invariant)}%)";
            }
            return new[]
            {
                r.Spec.Name,
                Ms(r.Cost.Factorised * 1000),
                Ms(r.Cost.Materialised * 1000),
                Ms(r.Cost.Fused * 1000),
                PathName(r.Auto),
                fastest,
                verdict,
                double.IsNaN(r.UpdateMismatch) ? "n/a" : r.UpdateMismatch.ToString("0.0e+0", Invariant),
                r.OthersCpuPercent is double others ? others.ToString("0", Invariant) + "%" : "n/a",
            };
        }).ToArray();
        return new TextTable(header, rows);
    }

    public static void WriteLayersConsole(TextWriter output, RunInfo info, IReadOnlyList<LayerResult> results)
    {
        IReadOnlyList<Variant> variants = info.Options.Variants;
        output.WriteLine();
        output.WriteLine($"Training step (forward + sum loss + backward), median of {info.Options.Iterations} after {info.Options.Warmup} warm-up; × base = median / base median.");
        output.Write(TimeTable(variants, results).ToPlainText());
        output.WriteLine();
        output.WriteLine("Peak RSS Δ per step (MiB):");
        output.Write(MemoryTable(variants, results).ToPlainText());
        output.WriteLine();
        output.WriteLine("Adapters (LoRA and DoRA at the rank matched to the FLoRA budget):");
        output.Write(AdapterTable(results).ToPlainText());
        output.WriteLine();
        output.WriteLine("Cost model (estimated training step per path) against the measured FLoRA paths:");
        output.Write(CostTable(results).ToPlainText().Replace("**", "", StringComparison.Ordinal));
        output.WriteLine();
        output.WriteLine("Peak RSS Δ: " + info.MemoryNote);
        if (info.OthersCpuPercent is double others)
            output.WriteLine($"Other processes took {others:0}% of the machine's CPU time while timing (per layer in the last column above).");
    }

    public static string LayersMarkdown(RunInfo info, IReadOnlyList<LayerResult> results)
    {
        var md = new StringBuilder();
        BenchOptions o = info.Options;
        Header(md, info);
        md.AppendLine($"- FLoRA: rank {o.Rank}, R3 {o.R3}, scale {o.Scale.ToString(Invariant)}; LoRA and DoRA at the matched rank, " +
                      $"B drawn from N(0, {LayerSpec.LoraBScale.ToString(Invariant)}²), forward path {PathName(o.LoraPath)}; batch {o.Batch}; " +
                      $"{o.Warmup} warm-up + {o.Iterations} timed steps per variant");
        md.AppendLine();
        md.AppendLine("Median training step (forward, sum loss, backward) in ms, and × base (the variant's median / the base's median in the same run):");
        md.AppendLine();
        md.Append(TimeTable(o.Variants, results).ToMarkdown());
        md.AppendLine();
        md.AppendLine("Peak RSS Δ of one step in MiB: " + info.MemoryNote);
        md.AppendLine();
        md.Append(MemoryTable(o.Variants, results).ToMarkdown());
        md.AppendLine();
        md.AppendLine("Adapters: FLoRA's ranks (out, in, kernel axes) and scale; LoRA's and DoRA's rank matched to the FLoRA budget " +
                      "(`LoraLayerConfig.Matched`) and α; the forward path LoRA and DoRA took:");
        md.AppendLine();
        md.Append(AdapterTable(results).ToMarkdown());
        md.AppendLine();
        md.AppendLine("Cost model (`FloraCostModel`: the estimated training step of each path on this device and dtype, what " +
                      "`FloraForwardPath.Auto` compares for FLoRA) against the measured FLoRA paths above; \"Auto right?\" is yes when " +
                      "Auto's path was the fastest measured, a tie within 5%; the update mismatch is the largest " +
                      "max |Δ_path(x) − Δ_mat(x)| / max |Δ_mat(x)| of the factorised and fused paths; \"Others' CPU\" is the share of " +
                      "the machine's CPU time other processes took while the layer was timed:");
        md.AppendLine();
        md.Append(CostTable(results).ToMarkdown());
        return md.ToString();
    }

    // ---------------------------------------------------------------- model

    public static TextTable TrainingTable(IReadOnlyList<ModelResult> results)
    {
        ModelResult? full = results.FirstOrDefault(r => r.Method.Key == "full");
        string[] header = { "Method", "Trainable", "Median ms", "Min ms", "Images/s", "× full FT", "Peak RSS Δ MiB" };
        var rows = results.Where(r => r.Method.Training).Select(r => new[]
        {
            r.Method.Label,
            r.TrainableParameters.ToString("N0", Invariant),
            Ms(r.MedianMs),
            Ms(r.MinMs),
            r.ImagesPerSecond.ToString("N0", Invariant),
            full is null ? "n/a" : (r.MedianMs / full.MedianMs).ToString("0.00", Invariant),
            r.PeakMiB is double mib ? mib.ToString("0.0", Invariant) : "n/a",
        }).ToArray();
        return new TextTable(header, rows);
    }

    public static TextTable InferenceTable(IReadOnlyList<ModelResult> results)
    {
        ModelResult? baseline = results.FirstOrDefault(r => r.Method.Key == ModelMethod.BaseForward);
        string[] header = { "Model", "Median ms", "Min ms", "Images/s", "× base", "Peak RSS Δ MiB" };
        var rows = results.Where(r => !r.Method.Training).Select(r => new[]
        {
            r.Method.Label,
            Ms(r.MedianMs),
            Ms(r.MinMs),
            r.ImagesPerSecond.ToString("N0", Invariant),
            baseline is null ? "n/a" : (r.MedianMs / baseline.MedianMs).ToString("0.00", Invariant),
            r.PeakMiB is double mib ? mib.ToString("0.0", Invariant) : "n/a",
        }).ToArray();
        return new TextTable(header, rows);
    }

    public static void WriteModelConsole(TextWriter output, RunInfo info, IReadOnlyList<ModelResult> results)
    {
        output.WriteLine();
        if (results.Any(r => r.Method.Training))
        {
            output.WriteLine($"Training step (forward, cross-entropy, backward, clip, FloraAdamW), median of {info.Options.Iterations} after {info.Options.Warmup} warm-up:");
            output.Write(TrainingTable(results).ToPlainText());
            output.WriteLine();
        }
        if (results.Any(r => !r.Method.Training))
        {
            output.WriteLine("Inference (forward only, no grad, eval mode):");
            output.Write(InferenceTable(results).ToPlainText());
            output.WriteLine();
        }
        output.WriteLine("Peak RSS Δ: " + info.MemoryNote);
        if (info.OthersCpuPercent is double others)
            output.WriteLine($"Other processes took {others:0}% of the machine's CPU time while timing.");
    }

    public static string ModelMarkdown(RunInfo info, IReadOnlyList<ModelResult> results)
    {
        var md = new StringBuilder();
        BenchOptions o = info.Options;
        long total = results.Select(r => r.TotalParameters).DefaultIfEmpty(0).Min();
        Header(md, info);
        md.AppendLine($"- Model: TinyConvNeXt width {o.Width} ({total.ToString("N0", Invariant)} parameters), batch {o.Batch} of random 1×28×28 images " +
                      $"with random labels; {o.Warmup} warm-up + {o.Iterations} timed steps per method, interleaved");
        md.AppendLine();
        if (results.Any(r => r.Method.Training))
        {
            md.AppendLine("Training step (forward, cross-entropy, backward, gradient clipping, FloraAdamW step), with the main job's methods, " +
                          "budgets and learning rates; × full FT = the method's median / full fine-tuning's median:");
            md.AppendLine();
            md.Append(TrainingTable(results).ToMarkdown());
            md.AppendLine();
        }
        if (results.Any(r => !r.Method.Training))
        {
            md.AppendLine("Inference (forward only, no gradients, eval mode); × base = the median / the base model's median:");
            md.AppendLine();
            md.Append(InferenceTable(results).ToMarkdown());
            md.AppendLine();
        }
        md.AppendLine("Peak RSS Δ: " + info.MemoryNote);
        return md.ToString();
    }

    // ---------------------------------------------------------------- shared

    private static void Header(StringBuilder md, RunInfo info)
    {
        md.AppendLine($"- Device: {info.Device}");
        md.AppendLine($"- dtype: {info.DType}");
        md.AppendLine($"- torch threads: {info.TorchThreads}");
        md.AppendLine($"- libtorch: {info.Libtorch}");
        md.AppendLine($"- Date: {info.StartedUtc.ToString("yyyy-MM-dd HH:mm", Invariant)} UTC");
        md.AppendLine($"- Command: `{info.CommandLine}`");
        md.AppendLine("- Other processes' CPU use while timing: " + (info.OthersCpuPercent is double others
            ? $"{others.ToString("0", Invariant)}% of the machine's CPU time (from /proc/stat)"
            : "not measured"));
    }

    private static string Ms(double ms) => ms >= 100 ? ms.ToString("0.0", Invariant) : ms >= 10 ? ms.ToString("0.00", Invariant) : ms.ToString("0.000", Invariant);
}
