using System.IO;
using System.Text;

namespace Flora.Data.Tests;

public sealed class FashionMnistJsonReaderTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string Write(string name, string json)
    {
        string path = _temp.File(name);
        File.WriteAllText(path, json);
        return path;
    }

    [Fact]
    public void ReadsTwoRows()
    {
        string path = Write("two.json", DataFixtures.FashionJson(2));

        FashionMnistJsonData data = FashionMnistJsonReader.Read(path);

        Assert.Equal(2, data.Count);
        Assert.Equal(0, data.SkippedEmptyRows);
        Assert.Equal(DataFixtures.Pixels(2), data.Pixels);
    }

    [Fact]
    public void SkipsAndCountsEmptyRows()
    {
        // Rows: image 0, [], [], image 1, image 2 (as in the published 0.json, which has two empty rows).
        string path = Write("empty-rows.json", DataFixtures.FashionJson(3, emptyRowsAfter: 0, emptyRows: 2));

        FashionMnistJsonData data = FashionMnistJsonReader.Read(path);

        Assert.Equal(3, data.Count);
        Assert.Equal(2, data.SkippedEmptyRows);
        Assert.Equal(DataFixtures.Pixels(3), data.Pixels);
    }

    [Fact]
    public void AcceptsWhitespaceNewlinesAndOtherProperties()
    {
        var text = new StringBuilder("{\n  \"name\": \"clothes\",\n  \"meta\": {\"a\": [1, [2, {\"b\": null}]], \"c\": true},\n  \"data\": [\n    ");
        DataFixtures.AppendRow(text, 0);
        text.Append(",\n    [ ]\n  ],\n  \"after\": [[1, 2], []]\n}\n");
        string path = Write("pretty.json", text.ToString().Replace(",", ",\n      "));

        FashionMnistJsonData data = FashionMnistJsonReader.Read(path);

        Assert.Equal(1, data.Count);
        Assert.Equal(1, data.SkippedEmptyRows);
        Assert.Equal(DataFixtures.Pixels(1), data.Pixels);
    }

    [Theory]
    [InlineData(783)]
    [InlineData(785)]
    [InlineData(1)]
    public void RejectsARowOfTheWrongLength(int length)
    {
        var text = new StringBuilder("{\"data\":[");
        DataFixtures.AppendRow(text, 0);
        text.Append(",[],");
        DataFixtures.AppendRow(text, 1, length);
        text.Append("]}");
        string path = Write($"length-{length}.json", text.ToString());

        var error = Assert.Throws<DataException>(() => FashionMnistJsonReader.Read(path));

        Assert.Contains(path, error.Message);
        Assert.Contains($"row 2 (0-based) has {length} values, expected 784", error.Message);
    }

    [Theory]
    [InlineData("256")]
    [InlineData("-1")]
    [InlineData("1.5")]
    [InlineData("1e2")]
    [InlineData("99999999999")]
    public void RejectsAValueOutside0To255NamingFileRowAndValue(string value)
    {
        var text = new StringBuilder("{\"data\":[");
        DataFixtures.AppendRow(text, 0);
        text.Append(",[");
        for (int p = 0; p < 784; p++)
        {
            text.Append(p == 0 ? string.Empty : ",").Append(p == 17 ? value : "3");
        }

        text.Append("]]}");
        string path = Write("value.json", text.ToString());

        var error = Assert.Throws<DataException>(() => FashionMnistJsonReader.Read(path));

        Assert.Contains(path, error.Message);
        Assert.Contains($"row 1 (0-based), value 17: {value} is not a pixel value", error.Message);
    }

    [Theory]
    [InlineData("{\"data\":[[1,\"2\"]]}", "value 1: the string \"2\"")]
    [InlineData("{\"data\":[[null]]}", "value 0: null")]
    [InlineData("{\"data\":[[[1]]]}", "value 0: an array")]
    [InlineData("{\"data\":[5]}", "row 0 (0-based) of \"data\" is the number 5")]
    [InlineData("{\"data\":{}}", "\"data\" must be an array")]
    [InlineData("[[1,2]]", "expected a JSON object")]
    [InlineData("{\"rows\":[]}", "has no \"data\" property")]
    [InlineData("{\"data\":[],\"data\":[]}", "two \"data\" properties")]
    public void RejectsTheWrongShape(string json, string expected)
    {
        string path = Write("shape.json", json);

        var error = Assert.Throws<DataException>(() => FashionMnistJsonReader.Read(path));

        Assert.Contains(path, error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Theory]
    [InlineData("{\"data\":[[1,2")]
    [InlineData("{\"data\":[[1,2,]]}")]
    [InlineData("{\"data\":[[1 2]]}")]
    [InlineData("{\"data\":[]} trailing")]
    [InlineData("{\"data\":[]}{}")]
    [InlineData("")]
    [InlineData("{data:[]}")]
    public void RejectsMalformedJsonNamingTheFile(string json)
    {
        string path = Write("malformed.json", json);

        var error = Assert.Throws<DataException>(() => FashionMnistJsonReader.Read(path));

        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void MissingFileIsADataException()
    {
        string path = _temp.File("3.json");

        Assert.Contains(path, Assert.Throws<DataException>(() => FashionMnistJsonReader.Read(path)).Message);
    }

    [Fact]
    public void ReadsAHugeSingleLineFileAcrossManyBufferRefills()
    {
        const int rows = 3000;
        string json = DataFixtures.FashionJson(rows, firstImage: 5, emptyRowsAfter: 1234, emptyRows: 3);
        Assert.DoesNotContain('\n', json);
        Assert.True(json.Length > 20 * FashionMnistJsonReader.DefaultBufferSize, "the fixture must span many buffer refills");
        string path = Write("huge.json", json);
        byte[] expected = DataFixtures.Pixels(rows, firstImage: 5);

        FashionMnistJsonData data = FashionMnistJsonReader.Read(path);

        Assert.Equal(rows, data.Count);
        Assert.Equal(3, data.SkippedEmptyRows);
        Assert.Equal(expected, data.Pixels);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    [InlineData(64)]
    [InlineData(4093)]
    public void TinyBuffersSplitTokensAnywhereAndGiveTheSameResult(int bufferSize)
    {
        string path = Write($"buffer-{bufferSize}.json", DataFixtures.FashionJson(40, emptyRowsAfter: 20, emptyRows: 1));

        FashionMnistJsonData data = FashionMnistJsonReader.Read(path, bufferSize);

        Assert.Equal(40, data.Count);
        Assert.Equal(1, data.SkippedEmptyRows);
        Assert.Equal(DataFixtures.Pixels(40), data.Pixels);
    }

    [Fact]
    public void TinyBufferStillReportsTheBadValue()
    {
        var text = new StringBuilder("{\"data\":[");
        DataFixtures.AppendRow(text, 0);
        text.Append(",[256]]}");
        string path = Write("tiny-bad.json", text.ToString());

        var error = Assert.Throws<DataException>(() => FashionMnistJsonReader.Read(path, bufferSize: 3));

        Assert.Contains("row 1 (0-based), value 0: 256", error.Message);
    }
}
