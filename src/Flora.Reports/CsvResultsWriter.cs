using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace Flora.Reports;

/// <summary>
/// results.csv: one row per run (RFC 4180: CRLF line ends, fields with a comma, quote or line break quoted,
/// quotes doubled; invariant culture; accuracies as fractions in [0, 1]; an unknown peak memory is an empty field).
/// Columns: method, kind, budget, seed, trainable_parameters, total_parameters, final_test_accuracy,
/// epoch_1 … epoch_N (test accuracy after each epoch), seconds_per_epoch, peak_memory_bytes,
/// train_loss_1 … train_loss_N. N is the most epochs of any run; shorter runs leave the rest empty.
/// </summary>
public static class CsvResultsWriter
{
    /// <summary>The file a comparison writes its runs to.</summary>
    public const string FileName = "results.csv";

    /// <summary>The header for runs of at most <paramref name="epochs"/> epochs.</summary>
    public static IReadOnlyList<string> Header(int epochs)
    {
        var header = new List<string> { "method", "kind", "budget", "seed", "trainable_parameters", "total_parameters", "final_test_accuracy" };
        header.AddRange(Enumerable.Range(1, epochs).Select(e => "epoch_" + e.ToString(CultureInfo.InvariantCulture)));
        header.Add("seconds_per_epoch");
        header.Add("peak_memory_bytes");
        header.AddRange(Enumerable.Range(1, epochs).Select(e => "train_loss_" + e.ToString(CultureInfo.InvariantCulture)));
        return header;
    }

    /// <summary>The CSV text, header included.</summary>
    public static string ToCsv(IEnumerable<RunResult> runs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        List<RunResult> list = runs.ToList();
        int epochs = list.Count == 0 ? 0 : list.Max(r => Math.Max(r.EpochTestAccuracy.Count, r.EpochTrainLoss.Count));
        var builder = new StringBuilder();
        AppendRow(builder, Header(epochs));
        foreach (RunResult run in list)
        {
            var fields = new List<string>
            {
                run.Method,
                run.Kind.ToString(),
                run.Budget ?? string.Empty,
                run.Seed.ToString(CultureInfo.InvariantCulture),
                run.TrainableParameters.ToString(CultureInfo.InvariantCulture),
                run.TotalParameters.ToString(CultureInfo.InvariantCulture),
                Number(run.FinalTestAccuracy),
            };
            fields.AddRange(Enumerable.Range(0, epochs).Select(e => e < run.EpochTestAccuracy.Count ? Number(run.EpochTestAccuracy[e]) : string.Empty));
            fields.Add(Number(run.SecondsPerEpoch));
            fields.Add(run.PeakMemoryBytes?.ToString(CultureInfo.InvariantCulture) ?? string.Empty);
            fields.AddRange(Enumerable.Range(0, epochs).Select(e => e < run.EpochTrainLoss.Count ? Number(run.EpochTrainLoss[e]) : string.Empty));
            AppendRow(builder, fields);
        }
        return builder.ToString();
    }

    /// <summary>Writes results.csv atomically.</summary>
    public static void Write(string path, IEnumerable<RunResult> runs) => AtomicFile.WriteAllText(path, ToCsv(runs));

    /// <summary>One field, quoted where RFC 4180 needs it.</summary>
    public static string Quote(string field)
    {
        ArgumentNullException.ThrowIfNull(field);
        if (field.IndexOfAny(['"', ',', '\r', '\n']) < 0)
        {
            return field;
        }
        return "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
    }

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static void AppendRow(StringBuilder builder, IEnumerable<string> fields)
    {
        builder.AppendJoin(',', fields.Select(Quote));
        builder.Append("\r\n");
    }
}
