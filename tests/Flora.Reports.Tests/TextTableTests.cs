namespace Flora.Reports.Tests;

public sealed class TextTableTests
{
    private static readonly string[] Header = ["Layer", "ms", "Path"];

    private static TextTable Layers(IReadOnlyList<bool>? rightAligned = null) => new(Header,
        new[] { new[] { "conv | 3×3", "12.5", "fused" }, new[] { "head", "n/a", "factorised" } }, rightAligned);

    [Fact]
    public void Markdown_escapes_cells_and_marks_the_right_aligned_columns()
    {
        Assert.Equal(
            "| Layer | ms | Path |\n" +
            "|---|--:|---|\n" +
            "| conv \\| 3×3 | 12.5 | fused |\n" +
            "| head | n/a | factorised |\n",
            Layers().ToMarkdown());
    }

    [Fact]
    public void Plain_text_pads_each_column_to_its_widest_cell_and_right_aligns_numbers()
    {
        Assert.Equal(
            "Layer         ms  Path\n" +
            "----------  ----  ----------\n" +
            "conv | 3×3  12.5  fused\n" +
            "head         n/a  factorised\n",
            Layers().ToPlainText());
    }

    [Fact]
    public void Given_alignments_replace_the_detection_of_numbers()
    {
        Assert.Equal([false, true, false], Layers().RightAligned);
        Assert.Equal([true, false, true], Layers([true, false, true]).RightAligned);
        Assert.Equal("|--:|---|--:|", Layers([true, false, true]).ToMarkdown().Split('\n')[1]);
    }

    [Fact]
    public void A_table_without_rows_has_its_header_and_left_aligned_columns()
    {
        var empty = new TextTable(Header, Array.Empty<string[]>());
        Assert.Equal("| Layer | ms | Path |\n|---|---|---|\n", empty.ToMarkdown());
        Assert.Equal("Layer  ms  Path\n-----  --  ----\n", empty.ToPlainText());
    }

    [Fact]
    public void A_row_of_the_wrong_width_is_refused_naming_the_row_and_the_columns()
    {
        var error = Assert.Throws<ArgumentException>(() => new TextTable(Header, new[] { new[] { "a", "1", "x" }, new[] { "b", "2" } }));
        Assert.StartsWith("row 1 has 2 cells, but the table has 3 columns (Layer, ms, Path). Give every row one cell per column.", error.Message, StringComparison.Ordinal);
        var alignments = Assert.Throws<ArgumentException>(() => Layers([true]));
        Assert.StartsWith("1 alignments for 3 columns.", alignments.Message, StringComparison.Ordinal);
    }
}
