using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;

namespace Flora.Reports;

/// <summary>
/// Reads back the results.csv that <see cref="CsvResultsWriter"/> writes (RFC 4180 quoting, invariant culture), so that a
/// report can be rebuilt from a run that was interrupted or ran elsewhere (<c>flora report</c>).
/// </summary>
public static class CsvResultsReader
{
    /// <summary>The runs in <paramref name="path"/>; throws <see cref="InvalidDataException"/> naming the line and column on bad input.</summary>
    public static IReadOnlyList<RunResult> Read(string path)
    {
        var rows = Parse(File.ReadAllText(path), path);
        if (rows.Count == 0) throw new InvalidDataException($"{path} is empty: it has no header.");
        var header = rows[0];
        int Column(string name) => header.IndexOf(name) is int i and >= 0 ? i : throw new InvalidDataException($"{path}: the header has no '{name}' column.");
        int method = Column("method"), kind = Column("kind"), budget = Column("budget"), seed = Column("seed"), trainable = Column("trainable_parameters");
        int total = Column("total_parameters"), final = Column("final_test_accuracy"), seconds = Column("seconds_per_epoch"), peak = Column("peak_memory_bytes");
        var epochs = header.Select((name, i) => (name, i)).Where(c => c.name.StartsWith("epoch_", StringComparison.Ordinal)).Select(c => c.i).ToList();
        var losses = header.Select((name, i) => (name, i)).Where(c => c.name.StartsWith("train_loss_", StringComparison.Ordinal)).Select(c => c.i).ToList();

        var runs = new List<RunResult>();
        for (int line = 1; line < rows.Count; line++)
        {
            var row = rows[line];
            if (row.Count == 1 && row[0].Length == 0) continue;
            if (row.Count != header.Count) throw new InvalidDataException($"{path}, line {line + 1}: {row.Count} fields, the header has {header.Count}.");
            double D(int column) => double.Parse(row[column], NumberStyles.Float, CultureInfo.InvariantCulture);
            try
            {
                runs.Add(new RunResult(row[method], Enum.Parse<MethodKind>(row[kind]), row[budget].Length == 0 ? null : row[budget],
                    int.Parse(row[seed], CultureInfo.InvariantCulture), long.Parse(row[trainable], CultureInfo.InvariantCulture),
                    long.Parse(row[total], CultureInfo.InvariantCulture), epochs.Where(c => row[c].Length > 0).Select(D).ToList(), D(final),
                    losses.Where(c => row[c].Length > 0).Select(D).ToList(), D(seconds),
                    row[peak].Length == 0 ? null : long.Parse(row[peak], CultureInfo.InvariantCulture)));
            }
            catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
            {
                throw new InvalidDataException($"{path}, line {line + 1}: {e.Message}", e);
            }
        }
        return runs;
    }

    /// <summary>Splits RFC 4180 text into rows of fields (quoted fields may hold commas, quotes and line breaks).</summary>
    public static List<List<string>> Parse(string text, string path)
    {
        var rows = new List<List<string>>();
        var row = new List<string>();
        var field = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else field.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { row.Add(field.ToString()); field.Clear(); }
            else if (c == '\r') { }
            else if (c == '\n') { row.Add(field.ToString()); field.Clear(); rows.Add(row); row = new List<string>(); }
            else field.Append(c);
        }
        if (quoted) throw new InvalidDataException($"{path}: a quoted field is not closed.");
        if (field.Length > 0 || row.Count > 0) { row.Add(field.ToString()); rows.Add(row); }
        return rows;
    }
}
