using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace Flora.Reports;

/// <summary>What a paired comparison supports.</summary>
public enum PairedOutcome
{
    /// <summary>Fewer than two paired seeds: no confidence interval, no conclusion.</summary>
    TooFewPairs,
    /// <summary>The confidence interval of the mean difference contains 0.</summary>
    NoClearDifference,
    /// <summary>The whole interval is above 0: A is higher.</summary>
    AHigher,
    /// <summary>The whole interval is below 0: A is lower.</summary>
    ALower,
}

/// <summary>
/// Method A against method B over the seeds both were run with (paired by seed): per-seed differences of the
/// final test accuracy (A − B, fractions; the text shows percentage points), their mean, sample std and a
/// Student-t confidence interval with n − 1 degrees of freedom.
/// </summary>
/// <param name="MethodA">Label of A.</param>
/// <param name="MethodB">Label of B.</param>
/// <param name="Seeds">The paired seeds, ascending.</param>
/// <param name="Differences">A − B per paired seed (same order as <paramref name="Seeds"/>), fractions.</param>
/// <param name="MeanDifference">Mean of the differences (NaN when no pairs).</param>
/// <param name="StdDifference">Sample std of the differences (0 for one pair, NaN for none).</param>
/// <param name="ConfidenceLevel">The interval's level, e.g. 0.95.</param>
/// <param name="CiLow">Lower bound of the interval (NaN below two pairs).</param>
/// <param name="CiHigh">Upper bound of the interval (NaN below two pairs).</param>
/// <param name="Wins">Seeds where A is higher.</param>
/// <param name="Losses">Seeds where A is lower.</param>
/// <param name="Ties">Seeds where both are equal.</param>
/// <param name="UnpairedSeeds">Seeds run for only one of the two methods, dropped from the comparison.</param>
public sealed record PairedComparison(
    string MethodA,
    string MethodB,
    IReadOnlyList<int> Seeds,
    IReadOnlyList<double> Differences,
    double MeanDifference,
    double StdDifference,
    double ConfidenceLevel,
    double CiLow,
    double CiHigh,
    int Wins,
    int Losses,
    int Ties,
    IReadOnlyList<int> UnpairedSeeds)
{
    /// <summary>Number of paired seeds.</summary>
    public int Pairs => Seeds.Count;

    /// <summary>What the interval supports.</summary>
    public PairedOutcome Outcome =>
        Pairs < 2 || double.IsNaN(CiLow) || double.IsNaN(CiHigh) ? PairedOutcome.TooFewPairs
        : CiLow > 0.0 ? PairedOutcome.AHigher
        : CiHigh < 0.0 ? PairedOutcome.ALower
        : PairedOutcome.NoClearDifference;

    /// <summary>
    /// One line, e.g. "FLoRA − LoRA: +0.42 pts (95% CI −0.31…+1.15, 3/5 seeds higher): no clear difference".
    /// </summary>
    public string Verdict
    {
        get
        {
            string head = $"{MethodA} {ReportFormat.Minus} {MethodB}";
            string unpaired = UnpairedSeeds.Count switch
            {
                0 => string.Empty,
                1 => ", 1 unpaired seed dropped",
                int k => $", {k.ToString(CultureInfo.InvariantCulture)} unpaired seeds dropped",
            };
            if (Pairs == 0)
            {
                return $"{head}: no seeds in common{unpaired}: no comparison";
            }
            string mean = $"{ReportFormat.Signed(100.0 * MeanDifference)} pts";
            if (Outcome == PairedOutcome.TooFewPairs)
            {
                string seeds = Pairs == 1 ? "1 paired seed" : $"{Pairs.ToString(CultureInfo.InvariantCulture)} paired seeds";
                return $"{head}: {mean} ({seeds}, too few for a confidence interval{unpaired}): no conclusion";
            }
            string level = (100.0 * ConfidenceLevel).ToString("0.##", CultureInfo.InvariantCulture);
            string ci = $"{level}% CI {ReportFormat.Signed(100.0 * CiLow)}…{ReportFormat.Signed(100.0 * CiHigh)}";
            string count = $"{Wins.ToString(CultureInfo.InvariantCulture)}/{Pairs.ToString(CultureInfo.InvariantCulture)} seeds higher";
            string conclusion = Outcome switch
            {
                PairedOutcome.AHigher => $"{MethodA} higher (the CI excludes 0)",
                PairedOutcome.ALower => $"{MethodA} lower (the CI excludes 0)",
                _ => "no clear difference",
            };
            return $"{head}: {mean} ({ci}, {count}{unpaired}): {conclusion}";
        }
    }

    /// <summary>
    /// Pairs the runs of <paramref name="methodA"/> and <paramref name="methodB"/> by seed (seeds run for only one
    /// of them are dropped and listed) and compares their final test accuracies.
    /// </summary>
    /// <exception cref="ArgumentException">A method has two runs with the same seed (the pairing would be ambiguous).</exception>
    public static PairedComparison Compute(IEnumerable<RunResult> runs, string methodA, string methodB, double confidenceLevel = 0.95)
    {
        ArgumentNullException.ThrowIfNull(runs);
        ArgumentNullException.ThrowIfNull(methodA);
        ArgumentNullException.ThrowIfNull(methodB);
        if (confidenceLevel is not (> 0.0 and < 1.0))
        {
            throw new ArgumentOutOfRangeException(nameof(confidenceLevel), confidenceLevel, "The confidence level must lie strictly between 0 and 1.");
        }
        List<RunResult> all = runs.ToList();
        Dictionary<int, double> a = BySeed(all, methodA);
        Dictionary<int, double> b = BySeed(all, methodB);
        int[] seeds = a.Keys.Where(b.ContainsKey).Order().ToArray();
        int[] unpaired = a.Keys.Concat(b.Keys).Distinct().Where(s => !(a.ContainsKey(s) && b.ContainsKey(s))).Order().ToArray();
        double[] differences = seeds.Select(s => a[s] - b[s]).ToArray();

        double mean = Statistics.Mean(differences);
        double std = Statistics.SampleStandardDeviation(differences);
        double low = double.NaN;
        double high = double.NaN;
        if (differences.Length >= 2)
        {
            double t = Statistics.StudentTQuantile(0.5 + 0.5 * confidenceLevel, differences.Length - 1);
            double half = t * std / Math.Sqrt(differences.Length);
            low = mean - half;
            high = mean + half;
        }
        return new PairedComparison(
            methodA,
            methodB,
            seeds,
            differences,
            mean,
            std,
            confidenceLevel,
            low,
            high,
            differences.Count(d => d > 0.0),
            differences.Count(d => d < 0.0),
            differences.Count(d => d == 0.0),
            unpaired);
    }

    /// <summary>
    /// Comparisons of each FLoRA method against the baselines of the same budget label — LoRA and DoRA, then the paper's
    /// other baselines where they ran (HAdapter, PAdapter, AdaLoRA): e.g. "FLoRA (budget A)" vs "LoRA (budget A)" and vs
    /// "DoRA (budget A)", in run order.
    /// </summary>
    public static IReadOnlyList<PairedComparison> FloraAgainstBaselines(IEnumerable<RunResult> runs, double confidenceLevel = 0.95)
    {
        ArgumentNullException.ThrowIfNull(runs);
        List<RunResult> all = runs.ToList();
        Summary summary = Summary.Compute(all);
        var comparisons = new List<PairedComparison>();
        foreach (MethodSummary flora in summary.Methods.Where(m => m.Kind == MethodKind.Flora))
        {
            foreach (MethodKind baseline in Baselines)
            {
                foreach (MethodSummary other in summary.Methods.Where(m => m.Kind == baseline && string.Equals(m.Budget, flora.Budget, StringComparison.Ordinal)))
                {
                    comparisons.Add(Compute(all, flora.Method, other.Method, confidenceLevel));
                }
            }
        }
        return comparisons;
    }

    /// <summary>The methods FLoRA is compared with at its budget, in the report's order.</summary>
    private static readonly MethodKind[] Baselines = { MethodKind.Lora, MethodKind.Dora, MethodKind.Houlsby, MethodKind.Pfeiffer, MethodKind.AdaLora };

    private static Dictionary<int, double> BySeed(List<RunResult> runs, string method)
    {
        var bySeed = new Dictionary<int, double>();
        foreach (RunResult run in runs.Where(r => string.Equals(r.Method, method, StringComparison.Ordinal)))
        {
            if (!bySeed.TryAdd(run.Seed, run.FinalTestAccuracy))
            {
                throw new ArgumentException($"{method} has more than one run with seed {run.Seed.ToString(CultureInfo.InvariantCulture)}; the pairing by seed is ambiguous.", nameof(runs));
            }
        }
        return bySeed;
    }
}
