using System.Globalization;
using System.IO;
using System.Text;
using System.Threading;

namespace Flora.Reports.Tests;

public sealed class CsvResultsWriterTests
{
    private const string AwkwardLabel = "LoRA, \"wide\" (budget A)";

    /// <summary>An RFC 4180 reader, independent of the writer: quoted fields, doubled quotes, CRLF records.</summary>
    private static List<List<string>> Parse(string csv)
    {
        var records = new List<List<string>>();
        var record = new List<string>();
        var field = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < csv.Length; i++)
        {
            char c = csv[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < csv.Length && csv[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    field.Append(c);
                }
            }
            else if (c == '"')
            {
                Assert.Equal(0, field.Length); // quotes only open a field
                quoted = true;
            }
            else if (c == ',')
            {
                record.Add(field.ToString());
                field.Clear();
            }
            else if (c == '\r')
            {
                Assert.Equal('\n', csv[i + 1]); // records end with CRLF
                record.Add(field.ToString());
                field.Clear();
                records.Add(record);
                record = [];
                i++;
            }
            else
            {
                field.Append(c);
            }
        }
        Assert.False(quoted);
        Assert.Equal(0, field.Length + record.Count); // the text ends with a complete record
        return records;
    }

    private static List<RunResult> Runs() =>
    [
        FakeRuns.Run(AwkwardLabel, 1, 0.8765, epochAccuracy: [0.5, 0.75, 0.8765], secondsPerEpoch: 12.5, peakBytes: 123_456_789),
        FakeRuns.Run("BitFit", 2, 0.81, MethodKind.BitFit, budget: null, trainable: 394, total: 113_738, epochAccuracy: [0.6, 0.81], peakBytes: null),
        FakeRuns.Run("FLoRA (budget A)", 3, 0.9, MethodKind.Flora, epochAccuracy: [0.7, 0.8, 0.9]),
    ];

    [Fact]
    public void HeaderRowsAndValuesRoundTrip()
    {
        List<List<string>> rows = Parse(CsvResultsWriter.ToCsv(Runs()));

        Assert.Equal(4, rows.Count); // header + one row per run
        Assert.Equal(
            [
                "method", "kind", "budget", "seed", "trainable_parameters", "total_parameters", "final_test_accuracy",
                "epoch_1", "epoch_2", "epoch_3", "seconds_per_epoch", "peak_memory_bytes", "train_loss_1", "train_loss_2", "train_loss_3",
            ],
            rows[0]);
        Assert.All(rows, r => Assert.Equal(rows[0].Count, r.Count));

        List<string> first = rows[1];
        Assert.Equal(AwkwardLabel, first[0]);
        Assert.Equal("Lora", first[1]);
        Assert.Equal("A", first[2]);
        Assert.Equal("1", first[3]);
        Assert.Equal("2500", first[4]);
        Assert.Equal("100000", first[5]);
        Assert.Equal(0.8765, double.Parse(first[6], CultureInfo.InvariantCulture));
        Assert.Equal(["0.5", "0.75", "0.8765"], first.Skip(7).Take(3));
        Assert.Equal(12.5, double.Parse(first[10], CultureInfo.InvariantCulture));
        Assert.Equal("123456789", first[11]);

        List<string> bitfit = rows[2];
        Assert.Equal(string.Empty, bitfit[2]);           // no budget
        Assert.Equal(string.Empty, bitfit[9]);           // no third epoch
        Assert.Equal(string.Empty, bitfit[11]);          // unknown peak memory
        Assert.Equal(string.Empty, bitfit[14]);          // no third loss
    }

    [Fact]
    public void FieldsWithCommasAndQuotesAreQuotedPerRfc4180()
    {
        string csv = CsvResultsWriter.ToCsv(Runs());
        string[] lines = csv.Split("\r\n");
        Assert.StartsWith("\"LoRA, \"\"wide\"\" (budget A)\",Lora,A,1,", lines[1], StringComparison.Ordinal);
        Assert.StartsWith("BitFit,BitFit,,2,", lines[2], StringComparison.Ordinal); // plain fields stay unquoted
        Assert.Equal("\"a\nb\"", CsvResultsWriter.Quote("a\nb"));
        Assert.Equal("plain", CsvResultsWriter.Quote("plain"));
    }

    [Fact]
    public void NumbersUseTheInvariantCultureWhateverTheCurrentOne()
    {
        CultureInfo previous = Thread.CurrentThread.CurrentCulture;
        var commaDecimal = (CultureInfo)CultureInfo.InvariantCulture.Clone();
        commaDecimal.NumberFormat.NumberDecimalSeparator = ",";
        commaDecimal.NumberFormat.NumberGroupSeparator = ".";
        try
        {
            Thread.CurrentThread.CurrentCulture = commaDecimal;
            List<List<string>> rows = Parse(CsvResultsWriter.ToCsv(Runs()));
            Assert.Equal("0.8765", rows[1][6]);
            Assert.Equal("12.5", rows[1][10]);
        }
        finally
        {
            Thread.CurrentThread.CurrentCulture = previous;
        }
    }

    [Fact]
    public void WriteCreatesTheFileAtomically()
    {
        string directory = FakeRuns.TempDirectory();
        string path = Path.Combine(directory, "results.csv");
        CsvResultsWriter.Write(path, Runs());

        Assert.Equal(CsvResultsWriter.ToCsv(Runs()), File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(directory));
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public void NoRunsGivesAHeaderOnly()
    {
        List<List<string>> rows = Parse(CsvResultsWriter.ToCsv([]));
        Assert.Single(rows);
        Assert.Equal("method", rows[0][0]);
    }
}
