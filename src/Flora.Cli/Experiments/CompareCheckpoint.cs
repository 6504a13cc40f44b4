using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Flora.Reports;

namespace Flora.Cli.Experiments;

/// <summary>
/// What a comparison's output folder already holds, so that <c>flora compare --resume</c> continues it: the finished
/// runs (results.csv), the learning rates chosen so far (learning_rates.csv), and the settings it ran with
/// (comparison.txt), which must match those of the run that continues it. Without <c>--resume</c> a folder that holds
/// results is refused, never overwritten.
/// </summary>
internal sealed class CompareCheckpoint
{
    /// <summary>The settings file in the output folder: one "key: value" line per setting.</summary>
    public const string SettingsFileName = "comparison.txt";

    /// <summary>Settings that change what a run measures: a resumed comparison must keep them. (Seeds, methods, budgets and the device may change.)</summary>
    private static readonly string[] FixedSettings = { "base model", "fine-tuning data", "precision", "forward path", "schedule" };

    private readonly HashSet<(string Method, int Seed)> _done;

    private CompareCheckpoint(IReadOnlyList<RunResult> runs, IReadOnlyList<LearningRateChoice> choices)
    {
        Runs = runs;
        Choices = choices;
        _done = runs.Select(r => (r.Method, r.Seed)).ToHashSet();
    }

    /// <summary>The runs finished earlier, in their order.</summary>
    public IReadOnlyList<RunResult> Runs { get; }

    /// <summary>The learning rates chosen earlier, one per method.</summary>
    public IReadOnlyList<LearningRateChoice> Choices { get; }

    /// <summary>Whether <paramref name="method"/> already ran with <paramref name="seed"/>.</summary>
    public bool Finished(string method, int seed) => _done.Contains((method, seed));

    /// <summary>
    /// Opens the output folder of <paramref name="settings"/>: with <see cref="CompareSettings.Resume"/> reads what it
    /// holds (after checking its settings against these), otherwise requires that it holds no results; then records these
    /// settings in <see cref="SettingsFileName"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The folder holds results and resuming was not asked for, or it was run with other settings.</exception>
    public static CompareCheckpoint Open(CompareSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        string directory = settings.OutputDirectory;
        string results = Path.Combine(directory, CsvResultsWriter.FileName), rates = Path.Combine(directory, LearningRateSearch.FileName), recorded = Path.Combine(directory, SettingsFileName);
        var current = settings.Describe().ToList();
        if (!settings.Resume)
        {
            if (File.Exists(results))
                throw new InvalidOperationException($"'{directory}' already holds the results of a comparison (results.csv): pass --resume to continue it, or choose another --out.");
            Record(recorded, current);
            return new CompareCheckpoint(Array.Empty<RunResult>(), Array.Empty<LearningRateChoice>());
        }
        if (File.Exists(recorded)) RequireSameSettings(recorded, current);
        var runs = File.Exists(results) ? CsvResultsReader.Read(results) : Array.Empty<RunResult>();
        var choices = File.Exists(rates) && settings.LearningRatesFile is null ? LearningRateSearch.FromCsv(rates) : Array.Empty<LearningRateChoice>();
        Record(recorded, current);
        return new CompareCheckpoint(runs, choices);
    }

    private static void Record(string path, IEnumerable<KeyValuePair<string, string>> settings) =>
        AtomicFile.WriteAllText(path, string.Concat(settings.Select(s => $"{s.Key}: {s.Value}\n")));

    private static void RequireSameSettings(string path, IReadOnlyList<KeyValuePair<string, string>> current)
    {
        var earlier = File.ReadAllLines(path).Select(l => l.Split(": ", 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
        foreach (var key in FixedSettings)
        {
            string? now = current.FirstOrDefault(s => s.Key == key).Value;
            earlier.TryGetValue(key, out string? before);
            if (!string.Equals(now, before, StringComparison.Ordinal))
                throw new InvalidOperationException($"--resume: the comparison in '{Path.GetDirectoryName(path)}' ran with {key} '{before ?? "(not set)"}', this run has '{now ?? "(not set)"}'; resume it with the same settings, or choose another --out.");
        }
    }
}
