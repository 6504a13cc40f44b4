
namespace Flora.Reports.Tests;

/// <summary>The "By budget" section and the sweep plot from made-up runs.</summary>
public sealed class BudgetTableTests
{
    private const long Total = 1_000_000;

    private static List<RunResult> Sweep(int seeds, double floraGap)
    {
        var runs = new List<RunResult>();
        foreach (var (budget, trainable, level) in new[] { ("r4 R3=1", 60_000L, 0.93), ("r8 R3=2", 107_000L, 0.935), ("r32 R3=2", 434_000L, 0.94) })
        {
            for (int seed = 1; seed <= seeds; seed++)
            {
                double noise = 0.001 * seed;
                runs.Add(FakeRuns.Run($"LoRA (budget {budget})", seed, level + noise, MethodKind.Lora, budget, trainable + 5_000, Total));
                runs.Add(FakeRuns.Run($"DoRA (budget {budget})", seed, level + noise + 0.004, MethodKind.Dora, budget, trainable + 9_000, Total));
                runs.Add(FakeRuns.Run($"FLoRA (budget {budget})", seed, level + noise + floraGap, MethodKind.Flora, budget, trainable, Total));
            }
        }
        runs.Add(FakeRuns.Run("FLoRA s=0.4 (budget r32 R3=2)", 1, 0.9, MethodKind.Flora, "r32 R3=2", 434_000, Total));
        return runs;
    }

    [Fact]
    public void Each_FLoRA_configuration_gets_a_row_with_its_matched_baselines_and_paired_intervals_in_budget_order()
    {
        var runs = Sweep(seeds: 3, floraGap: -0.01);
        var summary = Summary.Compute(runs);
        var rows = BudgetTable.Rows(summary, PairedComparison.FloraAgainstBaselines(runs));

        Assert.Equal(new[] { "FLoRA (budget r4 R3=1)", "FLoRA (budget r8 R3=2)", "FLoRA (budget r32 R3=2)", "FLoRA s=0.4 (budget r32 R3=2)" }, rows.Select(r => r.Flora.Method));
        Assert.All(rows, r => Assert.Equal(r.Flora.Budget, r.Lora!.Budget));
        Assert.All(rows.Take(3), r => Assert.Equal(-0.01, r.AgainstLora!.MeanDifference, 9)); // the same noise on both: an exact gap
        Assert.All(rows.Take(3), r => Assert.Equal(-0.014, r.AgainstDora!.MeanDifference, 9));
        Assert.Equal(1, rows[3].AgainstLora!.Pairs);
        string markdown = BudgetTable.ToMarkdown(summary, PairedComparison.FloraAgainstBaselines(runs));
        Assert.Contains("| FLoRA (budget r4 R3=1) | 6.00% | 92.20 ± 0.10 | 93.20 ± 0.10 | 93.60 ± 0.10 | −1.00 (−1.00…−1.00) * | −1.40 (−1.40…−1.40) * |", markdown, StringComparison.Ordinal);
        Assert.Contains("| FLoRA s=0.4 (budget r32 R3=2) |", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public void A_difference_within_two_standard_deviations_on_fewer_than_five_seeds_asks_for_more_seeds()
    {
        var close = Sweep(seeds: 3, floraGap: 0.0005);
        var summary = Summary.Compute(close);
        var rows = BudgetTable.Rows(summary, PairedComparison.FloraAgainstBaselines(close));
        Assert.All(rows.Take(3), r => Assert.True(r.NeedsMoreSeeds));
        Assert.Contains("run more seeds, e.g. `--resume --seeds 5`", BudgetTable.ToMarkdown(summary, PairedComparison.FloraAgainstBaselines(close)), StringComparison.Ordinal);

        var clear = Sweep(seeds: 5, floraGap: 0.0005); // five seeds: enough however close
        Assert.All(BudgetTable.Rows(Summary.Compute(clear), PairedComparison.FloraAgainstBaselines(clear)).Take(3), r => Assert.False(r.NeedsMoreSeeds));
        var far = Sweep(seeds: 3, floraGap: -0.03); // far apart against both baselines
        Assert.All(BudgetTable.Rows(Summary.Compute(far), PairedComparison.FloraAgainstBaselines(far)).Take(3), r => Assert.False(r.NeedsMoreSeeds));
    }

    [Fact]
    public void A_sweep_plots_one_line_per_method_series()
    {
        var summary = Summary.Compute(Sweep(seeds: 2, floraGap: 0.0));
        Assert.Equal(new[] { "LoRA", "DoRA", "FLoRA", "FLoRA s=0.4" }, summary.Methods.Select(Plots.Series).Distinct());
        byte[] png = Plots.RenderAccuracyVsParameters(summary);
        Assert.True(png.Length > 10_000);
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, png.Take(4));
    }

    [Fact]
    public void A_sweep_s_per_epoch_plot_grows_tall_enough_for_its_legend()
    {
        string directory = FakeRuns.TempDirectory();
        var runs = Enumerable.Range(1, 7).SelectMany(r => new[] { MethodKind.Lora, MethodKind.Dora, MethodKind.Flora }
            .Select(kind => FakeRuns.Run($"{kind} (budget r{r})", 1, 0.9, kind, $"r{r}", 1_000 * r, Total))).ToList(); // 21 methods, as the GPU sweep had
        var summary = Summary.Compute(runs);
        Plots.WriteAll(summary, directory);
        byte[] png = System.IO.File.ReadAllBytes(System.IO.Path.Combine(directory, Plots.AccuracyPerEpochFileName));
        Assert.Equal(Plots.LegendHeight(21), System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20, 4)));
        Assert.True(Plots.LegendHeight(21) > Plots.DefaultHeight);
        System.IO.Directory.Delete(directory, recursive: true);
    }
}
