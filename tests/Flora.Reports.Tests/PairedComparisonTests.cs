
namespace Flora.Reports.Tests;

public sealed class PairedComparisonTests
{
    private static List<RunResult> Pair(string a, string b, double[] accuracyA, double[] accuracyB, int firstSeed = 1)
    {
        var runs = new List<RunResult>();
        for (int i = 0; i < accuracyA.Length; i++)
        {
            runs.Add(FakeRuns.Run(a, firstSeed + i, accuracyA[i], MethodKind.Flora));
            runs.Add(FakeRuns.Run(b, firstSeed + i, accuracyB[i], MethodKind.Lora));
        }
        return runs;
    }

    [Fact]
    public void ClearWinMatchesTheHandComputedInterval()
    {
        // Differences A − B = 1, 2, 3, 4, 5 pts: mean 3, std sqrt(2.5) = 1.58114, se = 0.707107,
        // t(0.975, 4) = 2.776445 → half width 1.963243 → CI [1.036757, 4.963243] pts.
        List<RunResult> runs = Pair("FLoRA", "LoRA", [0.91, 0.92, 0.93, 0.94, 0.95], [0.90, 0.90, 0.90, 0.90, 0.90]);
        PairedComparison c = PairedComparison.Compute(runs, "FLoRA", "LoRA");

        Assert.Equal(5, c.Pairs);
        Assert.Equal([1, 2, 3, 4, 5], c.Seeds);
        Assert.Equal([0.01, 0.02, 0.03, 0.04, 0.05], c.Differences.Select(d => Math.Round(d, 12)));
        Assert.Equal(0.03, c.MeanDifference, 12);
        Assert.Equal(0.0158114, c.StdDifference, 6);
        Assert.Equal(0.01036757, c.CiLow, 6);
        Assert.Equal(0.04963243, c.CiHigh, 6);
        Assert.Equal(5, c.Wins);
        Assert.Equal(0, c.Losses);
        Assert.Equal(0, c.Ties);
        Assert.Empty(c.UnpairedSeeds);
        Assert.Equal(PairedOutcome.AHigher, c.Outcome);
        Assert.Equal("FLoRA − LoRA: +3.00 pts (95% CI +1.04…+4.96, 5/5 seeds higher): FLoRA higher (the CI excludes 0)", c.Verdict);
    }

    [Fact]
    public void ClearLoss()
    {
        List<RunResult> runs = Pair("FLoRA", "DoRA", [0.90, 0.90, 0.90, 0.90, 0.90], [0.91, 0.92, 0.93, 0.94, 0.95]);
        PairedComparison c = PairedComparison.Compute(runs, "FLoRA", "DoRA");

        Assert.Equal(-0.03, c.MeanDifference, 12);
        Assert.Equal(-0.04963243, c.CiLow, 6);
        Assert.Equal(-0.01036757, c.CiHigh, 6);
        Assert.Equal(0, c.Wins);
        Assert.Equal(5, c.Losses);
        Assert.Equal(PairedOutcome.ALower, c.Outcome);
        Assert.Equal("FLoRA − DoRA: −3.00 pts (95% CI −4.96…−1.04, 0/5 seeds higher): FLoRA lower (the CI excludes 0)", c.Verdict);
    }

    [Fact]
    public void OverlapIsNoClearDifferenceAndUnpairedSeedsAreDropped()
    {
        // Paired seeds 1..3, differences +1, −1, +3 pts: mean 1, std 2, se 2/√3 = 1.154701,
        // t(0.975, 2) = 4.302653 → half width 4.968275 → CI [−3.968275, +5.968275] pts.
        List<RunResult> runs = Pair("FLoRA", "LoRA", [0.91, 0.89, 0.93], [0.90, 0.90, 0.90]);
        runs.Add(FakeRuns.Run("FLoRA", 9, 0.99, MethodKind.Flora));   // only FLoRA ran seed 9
        runs.Add(FakeRuns.Run("LoRA", 10, 0.10, MethodKind.Lora));    // only LoRA ran seed 10
        runs.Add(FakeRuns.Run("DoRA", 1, 0.50, MethodKind.Dora));     // another method: ignored

        PairedComparison c = PairedComparison.Compute(runs, "FLoRA", "LoRA");

        Assert.Equal(3, c.Pairs);
        Assert.Equal([1, 2, 3], c.Seeds);
        Assert.Equal([9, 10], c.UnpairedSeeds);
        Assert.Equal(0.01, c.MeanDifference, 12);
        Assert.Equal(0.02, c.StdDifference, 12);
        Assert.Equal(-0.03968275, c.CiLow, 6);
        Assert.Equal(0.05968275, c.CiHigh, 6);
        Assert.Equal(2, c.Wins);
        Assert.Equal(1, c.Losses);
        Assert.Equal(PairedOutcome.NoClearDifference, c.Outcome);
        Assert.Equal(
            "FLoRA − LoRA: +1.00 pts (95% CI −3.97…+5.97, 2/3 seeds higher, 2 unpaired seeds dropped): no clear difference",
            c.Verdict);
    }

    [Fact]
    public void OnePairGivesNoIntervalAndNoConclusion()
    {
        List<RunResult> runs = Pair("FLoRA", "LoRA", [0.95], [0.90]);
        PairedComparison c = PairedComparison.Compute(runs, "FLoRA", "LoRA");

        Assert.Equal(1, c.Pairs);
        Assert.Equal(0.05, c.MeanDifference, 12);
        Assert.Equal(0.0, c.StdDifference);
        Assert.True(double.IsNaN(c.CiLow));
        Assert.True(double.IsNaN(c.CiHigh));
        Assert.Equal(PairedOutcome.TooFewPairs, c.Outcome);
        Assert.Equal("FLoRA − LoRA: +5.00 pts (1 paired seed, too few for a confidence interval): no conclusion", c.Verdict);
    }

    [Fact]
    public void NoCommonSeedsGivesNoComparison()
    {
        var runs = new List<RunResult>
        {
            FakeRuns.Run("FLoRA", 1, 0.9, MethodKind.Flora),
            FakeRuns.Run("LoRA", 2, 0.9),
        };
        PairedComparison c = PairedComparison.Compute(runs, "FLoRA", "LoRA");

        Assert.Equal(0, c.Pairs);
        Assert.Equal(PairedOutcome.TooFewPairs, c.Outcome);
        Assert.Equal("FLoRA − LoRA: no seeds in common, 2 unpaired seeds dropped: no comparison", c.Verdict);
    }

    [Fact]
    public void TiesCountNeitherWay()
    {
        List<RunResult> runs = Pair("FLoRA", "LoRA", [0.90, 0.92, 0.90], [0.90, 0.90, 0.91]);
        PairedComparison c = PairedComparison.Compute(runs, "FLoRA", "LoRA");
        Assert.Equal((1, 1, 1), (c.Wins, c.Losses, c.Ties));
    }

    [Fact]
    public void RepeatedSeedIsRejected()
    {
        List<RunResult> runs = Pair("FLoRA", "LoRA", [0.90, 0.92], [0.90, 0.90]);
        runs.Add(FakeRuns.Run("FLoRA", 1, 0.93, MethodKind.Flora));
        Assert.Throws<ArgumentException>(() => PairedComparison.Compute(runs, "FLoRA", "LoRA"));
    }

    [Fact]
    public void OtherConfidenceLevelsUseTheirQuantile()
    {
        // Same differences as the clear win; t(0.95, 4) = 2.131847 → half width 1.507443 pts.
        List<RunResult> runs = Pair("FLoRA", "LoRA", [0.91, 0.92, 0.93, 0.94, 0.95], [0.90, 0.90, 0.90, 0.90, 0.90]);
        PairedComparison c = PairedComparison.Compute(runs, "FLoRA", "LoRA", confidenceLevel: 0.90);
        Assert.Equal(0.03 - 0.01507443, c.CiLow, 6);
        Assert.StartsWith("FLoRA − LoRA: +3.00 pts (90% CI +1.49…+4.51,", c.Verdict, StringComparison.Ordinal);
    }

    [Fact]
    public void FloraIsComparedWithLoraAndDoraOfTheSameBudget()
    {
        List<RunResult> runs = FakeRuns.Realistic(seeds: 3);
        IReadOnlyList<PairedComparison> comparisons = PairedComparison.FloraAgainstBaselines(runs);

        Assert.Equal(
            [
                ("FLoRA (budget A)", "LoRA (budget A)"),
                ("FLoRA (budget A)", "DoRA (budget A)"),
                ("FLoRA (budget B)", "LoRA (budget B)"),
                ("FLoRA (budget B)", "DoRA (budget B)"),
            ],
            comparisons.Select(c => (c.MethodA, c.MethodB)));
        Assert.All(comparisons, c => Assert.Equal(3, c.Pairs));
    }

    [Fact]
    public void FloraIsComparedWithThePaperBaselinesOfTheSameBudgetAfterLoraAndDora()
    {
        List<RunResult> runs = FakeRuns.Realistic(seeds: 3);
        foreach (var (name, kind, shift) in new[] { ("AdaLoRA", MethodKind.AdaLora, -0.004), ("HAdapter", MethodKind.Houlsby, 0.002), ("PAdapter", MethodKind.Pfeiffer, -0.001) })
            for (int seed = 1; seed <= 3; seed++)
                runs.Add(FakeRuns.Run($"{name} (budget A)", seed, 0.89 + shift + 0.001 * seed, kind));
        IReadOnlyList<PairedComparison> comparisons = PairedComparison.FloraAgainstBaselines(runs);

        Assert.Equal(
            [
                ("FLoRA (budget A)", "LoRA (budget A)"),
                ("FLoRA (budget A)", "DoRA (budget A)"),
                ("FLoRA (budget A)", "HAdapter (budget A)"),
                ("FLoRA (budget A)", "PAdapter (budget A)"),
                ("FLoRA (budget A)", "AdaLoRA (budget A)"),
                ("FLoRA (budget B)", "LoRA (budget B)"),
                ("FLoRA (budget B)", "DoRA (budget B)"),
            ],
            comparisons.Select(c => (c.MethodA, c.MethodB)));
        var flora = runs.Where(r => r.Method == "FLoRA (budget A)").OrderBy(r => r.Seed).Select(r => r.FinalTestAccuracy).ToArray();
        var adaLora = runs.Where(r => r.Method == "AdaLoRA (budget A)").OrderBy(r => r.Seed).Select(r => r.FinalTestAccuracy).ToArray();
        Assert.Equal(flora.Zip(adaLora, (f, a) => f - a).Average(), comparisons.Single(c => c.MethodB == "AdaLoRA (budget A)").MeanDifference, 12);
    }
}
