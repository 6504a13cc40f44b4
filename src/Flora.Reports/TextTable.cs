using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace Flora.Reports;

/// <summary>
/// A table of text cells, rendered as GitHub-flavoured markdown (results.md, the benchmarks' markdown) or as aligned plain
/// text (the benchmarks' console output). Every table of the reports is rendered here. A column is right-aligned where
/// <see cref="RightAligned"/> says so; left unset, a column of numbers (every cell starts with a digit, or is "n/a") is.
/// </summary>
public sealed class TextTable
{
    /// <summary>A table of <paramref name="header"/> and <paramref name="rows"/>, each row one cell per header.</summary>
    /// <param name="header">The column headers.</param>
    /// <param name="rows">The rows, each with as many cells as <paramref name="header"/>.</param>
    /// <param name="rightAligned">Which columns are right-aligned; null right-aligns the columns of numbers.</param>
    public TextTable(IReadOnlyList<string> header, IReadOnlyList<IReadOnlyList<string>> rows, IReadOnlyList<bool>? rightAligned = null)
    {
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(rows);
        for (int r = 0; r < rows.Count; r++)
        {
            if (rows[r].Count != header.Count)
                throw new ArgumentException($"row {r} has {rows[r].Count} cells, but the table has {header.Count} columns ({string.Join(", ", header)}). Give every row one cell per column.", nameof(rows));
        }
        if (rightAligned is not null && rightAligned.Count != header.Count)
            throw new ArgumentException($"{rightAligned.Count} alignments for {header.Count} columns. Give one per column, or null to right-align the columns of numbers.", nameof(rightAligned));
        Header = header;
        Rows = rows;
        RightAligned = rightAligned ?? Enumerable.Range(0, header.Count).Select(c => rows.Count > 0 && rows.All(row => IsNumber(row[c]))).ToArray();
    }

    /// <summary>The column headers.</summary>
    public IReadOnlyList<string> Header { get; }

    /// <summary>The rows, one cell per column.</summary>
    public IReadOnlyList<IReadOnlyList<string>> Rows { get; }

    /// <summary>Whether each column is right-aligned.</summary>
    public IReadOnlyList<bool> RightAligned { get; }

    /// <summary>The table as markdown: cells made safe (<see cref="ReportFormat.MarkdownCell"/>), <c>--:</c> under right-aligned columns; ends with a line break.</summary>
    public string ToMarkdown()
    {
        var builder = new StringBuilder();
        AppendMarkdownRow(builder, Header);
        builder.Append('|');
        foreach (bool right in RightAligned)
        {
            builder.Append(right ? "--:|" : "---|");
        }
        builder.Append('\n');
        foreach (IReadOnlyList<string> row in Rows)
        {
            AppendMarkdownRow(builder, row);
        }
        return builder.ToString();
    }

    /// <summary>The table as plain text: columns padded to their widest cell, two spaces apart, dashes under the header; ends with a line break.</summary>
    public string ToPlainText()
    {
        int[] widths = Enumerable.Range(0, Header.Count).Select(c => Rows.Select(row => row[c].Length).Prepend(Header[c].Length).Max()).ToArray();
        var builder = new StringBuilder();
        AppendPlainRow(builder, Header, widths);
        builder.AppendJoin("  ", widths.Select(w => new string('-', w))).Append('\n');
        foreach (IReadOnlyList<string> row in Rows)
        {
            AppendPlainRow(builder, row, widths);
        }
        return builder.ToString();
    }

    private void AppendPlainRow(StringBuilder builder, IReadOnlyList<string> cells, int[] widths) =>
        builder.Append(string.Join("  ", cells.Select((cell, c) => RightAligned[c] ? cell.PadLeft(widths[c]) : cell.PadRight(widths[c]))).TrimEnd()).Append('\n');

    private static void AppendMarkdownRow(StringBuilder builder, IEnumerable<string> cells) =>
        builder.Append("| ").AppendJoin(" | ", cells.Select(ReportFormat.MarkdownCell)).Append(" |\n");

    private static bool IsNumber(string cell) => cell == "n/a" || (cell.Length > 0 && char.IsAsciiDigit(cell[0]));
}
