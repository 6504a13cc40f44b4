using System;
using System.Globalization;
using System.Text;

namespace Flora.Reports;

/// <summary>Number formatting shared by the console table, the markdown and the plots (invariant culture).</summary>
public static class ReportFormat
{
    /// <summary>The minus sign used in signed numbers (U+2212).</summary>
    public const string Minus = "\u2212";

    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>A fraction as a percentage with two decimals, no sign: 0.91234 → "91.23".</summary>
    public static string Percent(double fraction) => (100.0 * fraction).ToString("F2", Invariant);

    /// <summary>
    /// "91.23 ± 0.15"; " (n=k)" appended when the method has fewer seeds than the most any method has;
    /// a single seed shows no spread at all ("91.23 (n=1)") rather than a misleading "± 0.00".
    /// </summary>
    public static string Accuracy(MethodSummary method, int maxRuns)
    {
        if (method.Runs == 1)
        {
            return $"{Percent(method.MeanAccuracy)} (n=1)";
        }
        string text = $"{Percent(method.MeanAccuracy)} ± {Percent(method.StdAccuracy)}";
        return method.Runs < maxRuns ? $"{text} (n={method.Runs.ToString(Invariant)})" : text;
    }

    /// <summary>A count with thousands separators: 1234567 → "1,234,567".</summary>
    public static string Count(long value) => value.ToString("N0", Invariant);

    /// <summary>A share in percent (already 0..100) with enough decimals to show two significant digits: "100.0%", "2.14%", "0.045%".</summary>
    public static string Share(double percent)
    {
        if (percent == 0.0)
        {
            return "0%";
        }
        if (percent >= 10.0)
        {
            return percent.ToString("F1", Invariant) + "%";
        }
        if (percent >= 1.0)
        {
            return percent.ToString("F2", Invariant) + "%";
        }
        int decimals = Math.Clamp(1 - (int)Math.Floor(Math.Log10(percent)), 2, 8);
        return percent.ToString("F" + decimals.ToString(Invariant), Invariant) + "%";
    }

    /// <summary>Seconds: "0.84 s", "12.3 s", "2 min 05 s".</summary>
    public static string Seconds(double seconds)
    {
        if (double.IsNaN(seconds))
        {
            return "n/a";
        }
        if (seconds < 10.0)
        {
            return seconds.ToString("F2", Invariant) + " s";
        }
        if (seconds < 120.0)
        {
            return seconds.ToString("F1", Invariant) + " s";
        }
        long whole = (long)Math.Round(seconds);
        return $"{(whole / 60).ToString(Invariant)} min {(whole % 60).ToString("00", Invariant)} s";
    }

    /// <summary>Bytes in binary units: "512 B", "3.4 KiB", "123.4 MiB", "1.50 GiB"; "n/a" for unknown.</summary>
    public static string Bytes(long? bytes)
    {
        if (bytes is not long b)
        {
            return "n/a";
        }
        const double Kib = 1024.0;
        if (b < 1024)
        {
            return b.ToString(Invariant) + " B";
        }
        if (b < 1024 * 1024)
        {
            return (b / Kib).ToString("F1", Invariant) + " KiB";
        }
        if (b < 1024L * 1024 * 1024)
        {
            return (b / (Kib * Kib)).ToString("F1", Invariant) + " MiB";
        }
        return (b / (Kib * Kib * Kib)).ToString("F2", Invariant) + " GiB";
    }

    /// <summary>A signed number with two decimals and a real minus sign: "+0.42", "−0.31"; a value that rounds to zero is "+0.00".</summary>
    public static string Signed(double value)
    {
        if (double.IsNaN(value))
        {
            return "n/a";
        }
        double rounded = Math.Round(value, 2, MidpointRounding.AwayFromZero);
        string magnitude = Math.Abs(rounded).ToString("F2", Invariant);
        return rounded < 0 ? Minus + magnitude : "+" + magnitude;
    }

    /// <summary>Makes text safe for one markdown table cell: pipes escaped, line breaks flattened.</summary>
    public static string MarkdownCell(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            switch (c)
            {
                case '|':
                    builder.Append("\\|");
                    break;
                case '\r':
                    break;
                case '\n':
                    builder.Append(' ');
                    break;
                default:
                    builder.Append(c);
                    break;
            }
        }
        return builder.ToString();
    }
}
