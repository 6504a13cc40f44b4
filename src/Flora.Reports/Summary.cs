using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace Flora.Reports;

/// <summary>One method (label) summarized over its seeds. Accuracies are fractions in [0, 1].</summary>
/// <param name="Method">Display label.</param>
/// <param name="Kind">Method family.</param>
/// <param name="Budget">Budget label or null.</param>
/// <param name="Seeds">Seeds of the runs, in run order.</param>
/// <param name="MeanAccuracy">Mean final test accuracy over seeds.</param>
/// <param name="StdAccuracy">Sample standard deviation (n − 1) of the final test accuracy; 0 for one seed.</param>
/// <param name="TrainableParameters">Trainable parameters (of the first run; a difference between seeds is reported in <see cref="Summary.Warnings"/>).</param>
/// <param name="TotalParameters">Total parameters (of the first run).</param>
/// <param name="MeanSecondsPerEpoch">Mean over seeds of the seconds per epoch.</param>
/// <param name="PeakMemoryBytes">Largest peak memory over seeds, or null where no run knew it.</param>
/// <param name="MeanEpochAccuracy">Per epoch, the mean test accuracy over the seeds that reached that epoch.</param>
public sealed record MethodSummary(
    string Method,
    MethodKind Kind,
    string? Budget,
    IReadOnlyList<int> Seeds,
    double MeanAccuracy,
    double StdAccuracy,
    long TrainableParameters,
    long TotalParameters,
    double MeanSecondsPerEpoch,
    long? PeakMemoryBytes,
    IReadOnlyList<double> MeanEpochAccuracy)
{
    /// <summary>Number of runs (seeds).</summary>
    public int Runs => Seeds.Count;

    /// <summary>Trainable parameters as a percentage of the total (0..100).</summary>
    public double TrainablePercent => 100.0 * TrainableParameters / TotalParameters;
}

/// <summary>Per-method summaries of many runs, in the order the methods first appear in the runs.</summary>
public sealed class Summary
{
    private Summary(IReadOnlyList<MethodSummary> methods, IReadOnlyList<RunResult> runs, IReadOnlyList<string> warnings)
    {
        Methods = methods;
        Runs = runs;
        Warnings = warnings;
    }

    /// <summary>One entry per method label, in the order the methods were run.</summary>
    public IReadOnlyList<MethodSummary> Methods { get; }

    /// <summary>The raw runs the summary was computed from.</summary>
    public IReadOnlyList<RunResult> Runs { get; }

    /// <summary>Inconsistencies found in the runs (differing parameter counts between seeds, repeated seeds, ...); empty when none.</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>The most seeds any method has.</summary>
    public int MaxRuns => Methods.Count == 0 ? 0 : Methods.Max(m => m.Runs);

    /// <summary>The summary of a method label, or null.</summary>
    public MethodSummary? Find(string method) => Methods.FirstOrDefault(m => string.Equals(m.Method, method, StringComparison.Ordinal));

    /// <summary>Summarizes runs per method label (mean and sample std of the final accuracy, mean time per epoch, max peak memory).</summary>
    public static Summary Compute(IEnumerable<RunResult> runs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        List<RunResult> all = runs.ToList();
        var warnings = new List<string>();
        var methods = new List<MethodSummary>();
        foreach (IGrouping<string, RunResult> group in all.GroupBy(r => r.Method, StringComparer.Ordinal))
        {
            List<RunResult> list = group.ToList();
            RunResult first = list[0];
            string name = group.Key;

            if (list.Any(r => r.Kind != first.Kind || !string.Equals(r.Budget, first.Budget, StringComparison.Ordinal)))
            {
                warnings.Add($"{name}: runs disagree on the method kind or budget; the first run's are shown.");
            }
            if (list.Any(r => r.TrainableParameters != first.TrainableParameters || r.TotalParameters != first.TotalParameters))
            {
                string counts = string.Join(", ", list.Select(r => r.TrainableParameters.ToString(CultureInfo.InvariantCulture)).Distinct());
                warnings.Add($"{name}: trainable/total parameter counts differ between seeds ({counts}); the first run's are shown.");
            }
            List<int> repeated = list.GroupBy(r => r.Seed).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
            if (repeated.Count > 0)
            {
                warnings.Add($"{name}: seed(s) {string.Join(", ", repeated)} appear more than once; every run counts in the mean.");
            }
            if (list.Select(r => r.EpochTestAccuracy.Count).Distinct().Count() > 1)
            {
                warnings.Add($"{name}: runs have different numbers of epochs; each epoch's mean uses the seeds that reached it.");
            }

            double[] finals = list.Select(r => r.FinalTestAccuracy).ToArray();
            long[] peaks = list.Where(r => r.PeakMemoryBytes.HasValue).Select(r => r.PeakMemoryBytes!.Value).ToArray();
            int epochs = list.Max(r => r.EpochTestAccuracy.Count);
            var meanEpoch = new double[epochs];
            for (int e = 0; e < epochs; e++)
            {
                int epoch = e;
                meanEpoch[e] = Statistics.Mean(list.Where(r => r.EpochTestAccuracy.Count > epoch).Select(r => r.EpochTestAccuracy[epoch]).ToArray());
            }

            methods.Add(new MethodSummary(
                name,
                first.Kind,
                first.Budget,
                list.Select(r => r.Seed).ToArray(),
                Statistics.Mean(finals),
                Statistics.SampleStandardDeviation(finals),
                first.TrainableParameters,
                first.TotalParameters,
                Statistics.Mean(list.Select(r => r.SecondsPerEpoch).ToArray()),
                peaks.Length == 0 ? null : peaks.Max(),
                meanEpoch));
        }
        return new Summary(methods, all, warnings);
    }
}
