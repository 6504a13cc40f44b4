
namespace Flora.Reports.Tests;

public sealed class SummaryTests
{
    [Fact]
    public void MeanAndStdOfThreeSeeds()
    {
        // 0.90, 0.92, 0.94: mean 0.92; deviations −0.02, 0, +0.02 → std = sqrt(0.0008 / 2) = 0.02.
        Summary summary = Summary.Compute(
        [
            FakeRuns.Run("LoRA", 1, 0.90, secondsPerEpoch: 10, peakBytes: 100),
            FakeRuns.Run("LoRA", 2, 0.92, secondsPerEpoch: 12, peakBytes: null),
            FakeRuns.Run("LoRA", 3, 0.94, secondsPerEpoch: 14, peakBytes: 300),
        ]);
        MethodSummary lora = Assert.Single(summary.Methods);
        Assert.Equal(3, lora.Runs);
        Assert.Equal([1, 2, 3], lora.Seeds);
        Assert.Equal(0.92, lora.MeanAccuracy, 12);
        Assert.Equal(0.02, lora.StdAccuracy, 12);
        Assert.Equal(12.0, lora.MeanSecondsPerEpoch, 12);
        Assert.Equal(300L, lora.PeakMemoryBytes);
        Assert.Equal(2_500L, lora.TrainableParameters);
        Assert.Equal(2.5, lora.TrainablePercent, 12);
        Assert.Empty(summary.Warnings);
    }

    [Fact]
    public void MeanAndStdOfFiveSeeds()
    {
        // 0.80, 0.82, 0.85, 0.87, 0.91: mean 0.85; squared deviations 0.0025 + 0.0009 + 0 + 0.0004 + 0.0036 = 0.0074;
        // std = sqrt(0.0074 / 4) = sqrt(0.00185) = 0.0430116.
        double[] accuracies = [0.80, 0.82, 0.85, 0.87, 0.91];
        Summary summary = Summary.Compute(accuracies.Select((a, i) => FakeRuns.Run("DoRA", i + 1, a, MethodKind.Dora)));
        MethodSummary dora = Assert.Single(summary.Methods);
        Assert.Equal(0.85, dora.MeanAccuracy, 12);
        Assert.Equal(0.0430116, dora.StdAccuracy, 6);
        Assert.Equal(MethodKind.Dora, dora.Kind);
    }

    [Fact]
    public void OneSeedHasZeroStd()
    {
        Summary summary = Summary.Compute([FakeRuns.Run("BitFit", 7, 0.77, MethodKind.BitFit, budget: null, peakBytes: null)]);
        MethodSummary bitfit = Assert.Single(summary.Methods);
        Assert.Equal(0.77, bitfit.MeanAccuracy, 12);
        Assert.Equal(0.0, bitfit.StdAccuracy);
        Assert.Null(bitfit.PeakMemoryBytes);
        Assert.Null(bitfit.Budget);
    }

    [Fact]
    public void MethodsKeepTheOrderTheyWereRunIn()
    {
        var runs = new List<RunResult>();
        foreach (int seed in new[] { 1, 2 })
        {
            runs.Add(FakeRuns.Run("FLoRA (budget A)", seed, 0.9, MethodKind.Flora));
            runs.Add(FakeRuns.Run("BitFit", seed, 0.8, MethodKind.BitFit, budget: null));
            runs.Add(FakeRuns.Run("LoRA (budget A)", seed, 0.85));
        }
        Summary summary = Summary.Compute(runs);
        Assert.Equal(["FLoRA (budget A)", "BitFit", "LoRA (budget A)"], summary.Methods.Select(m => m.Method));
        Assert.All(summary.Methods, m => Assert.Equal(2, m.Runs));
        Assert.Equal(2, summary.MaxRuns);
        Assert.Same(summary.Methods[1], summary.Find("BitFit"));
        Assert.Null(summary.Find("DoRA"));
    }

    [Fact]
    public void EpochMeansAverageTheSeeds()
    {
        Summary summary = Summary.Compute(
        [
            FakeRuns.Run("LoRA", 1, 0.7, epochAccuracy: [0.5, 0.7]),
            FakeRuns.Run("LoRA", 2, 0.8, epochAccuracy: [0.6, 0.8]),
            FakeRuns.Run("LoRA", 3, 0.9, epochAccuracy: [0.7, 0.9]),
        ]);
        IReadOnlyList<double> means = summary.Methods[0].MeanEpochAccuracy;
        Assert.Equal(2, means.Count);
        Assert.Equal(0.6, means[0], 12);
        Assert.Equal(0.8, means[1], 12);
    }

    [Fact]
    public void InconsistentRunsAreReportedAsWarnings()
    {
        Summary summary = Summary.Compute(
        [
            FakeRuns.Run("LoRA", 1, 0.7, trainable: 100, epochAccuracy: [0.5, 0.7]),
            FakeRuns.Run("LoRA", 1, 0.8, trainable: 200, epochAccuracy: [0.8]),
        ]);
        Assert.Equal(3, summary.Warnings.Count);
        Assert.Contains(summary.Warnings, w => w.Contains("parameter counts differ", StringComparison.Ordinal));
        Assert.Contains(summary.Warnings, w => w.Contains("more than once", StringComparison.Ordinal));
        Assert.Contains(summary.Warnings, w => w.Contains("different numbers of epochs", StringComparison.Ordinal));
        Assert.Equal([0.65, 0.7], summary.Methods[0].MeanEpochAccuracy.Select(a => Math.Round(a, 12)));
    }

    [Fact]
    public void RunResultRejectsPercentagesAndImpossibleCounts()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => FakeRuns.Run("LoRA", 1, 91.2));
        Assert.Throws<ArgumentOutOfRangeException>(() => FakeRuns.Run("LoRA", 1, 0.9, epochAccuracy: [0.5, 90.0]));
        Assert.Throws<ArgumentOutOfRangeException>(() => FakeRuns.Run("LoRA", 1, 0.9, trainable: 10, total: 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => FakeRuns.Run("LoRA", 1, 0.9, peakBytes: -1));
        Assert.Throws<ArgumentException>(() => FakeRuns.Run(" ", 1, 0.9));
    }
}
