using Flora.Testing;
using System.IO;

namespace Flora.Data.Tests;

public sealed class IdxReaderTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void ReadImages_RoundTripsAHandWrittenThreeImageFile()
    {
        // 3 images of 2 x 3 pixels, written byte by byte.
        byte[] file =
        [
            0x00, 0x00, 0x08, 0x03, // magic: unsigned bytes, 3 dimensions
            0x00, 0x00, 0x00, 0x03, // 3 images
            0x00, 0x00, 0x00, 0x02, // 2 rows
            0x00, 0x00, 0x00, 0x03, // 3 columns
            0, 1, 2, 3, 4, 5,
            10, 20, 30, 40, 50, 60,
            255, 254, 253, 128, 127, 0,
        ];
        string path = _temp.File("images-idx3-ubyte");
        File.WriteAllBytes(path, file);

        (int count, int rows, int columns, byte[] pixels) = IdxReader.ReadImages(path);

        Assert.Equal(3, count);
        Assert.Equal(2, rows);
        Assert.Equal(3, columns);
        Assert.Equal(file[16..], pixels);
    }

    [Fact]
    public void ReadLabels_RoundTripsAHandWrittenFile()
    {
        byte[] file = [0x00, 0x00, 0x08, 0x01, 0x00, 0x00, 0x00, 0x03, 7, 0, 9];
        string path = _temp.File("labels-idx1-ubyte");
        File.WriteAllBytes(path, file);

        Assert.Equal(new byte[] { 7, 0, 9 }, IdxReader.ReadLabels(path));
    }

    [Fact]
    public void ReadImages_RoundTripsGeneratedMnistSizedImages()
    {
        byte[] pixels = DataFixtures.Pixels(5);
        string path = _temp.File("train-images-idx3-ubyte");
        File.WriteAllBytes(path, IdxFiles.Images(5, 28, 28, pixels));

        IdxImages images = IdxReader.ReadImages(path);

        Assert.Equal((5, 28, 28), (images.Count, images.Rows, images.Columns));
        Assert.Equal(pixels, images.Pixels);
    }

    public static TheoryData<string, byte[], string> BadImageFiles => new()
    {
        { "labels magic", IdxFiles.Images(1, 2, 2, new byte[4], magic: 0x00000801), "magic number 0x00000801, expected 0x00000803" },
        { "wrong magic", IdxFiles.Images(1, 2, 2, new byte[4], magic: 0x12345678), "magic number 0x12345678" },
        { "gzip", [0x1F, 0x8B, 0x08, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], "gzip" },
        { "truncated", IdxFiles.Images(3, 2, 2, new byte[11]), "truncated" },
        { "trailing", IdxFiles.Images(3, 2, 2, new byte[13]), "1 unexpected trailing bytes" },
        { "zero count", IdxFiles.Images(0, 2, 2, []), "every dimension must be greater than 0" },
        { "zero rows", IdxFiles.Images(3, 0, 2, []), "every dimension must be greater than 0" },
        { "zero columns", IdxFiles.Images(3, 2, 0, []), "every dimension must be greater than 0" },
        { "negative count", IdxFiles.Images(-1, 2, 2, new byte[4]), "every dimension must be greater than 0" },
        { "too large", IdxFiles.Images(int.MaxValue, 28, 28, new byte[4]), "bytes in all" },
        { "short header", [0x00, 0x00, 0x08, 0x03, 0x00], "shorter than the 16-byte header" },
        { "empty", [], "0 bytes long" },
    };

    [Theory]
    [MemberData(nameof(BadImageFiles))]
    public void ReadImages_RejectsBadFilesNamingTheFile(string what, byte[] content, string expected)
    {
        string path = _temp.File($"bad-images-{what.Replace(' ', '-')}");
        File.WriteAllBytes(path, content);

        var error = Assert.Throws<DataException>(() => IdxReader.ReadImages(path));

        Assert.Contains(path, error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void ReadImages_TruncatedMessageGivesBothLengths()
    {
        string path = _temp.File("short");
        File.WriteAllBytes(path, IdxFiles.Images(3, 2, 2, new byte[11]));

        var error = Assert.Throws<DataException>(() => IdxReader.ReadImages(path));

        Assert.Contains("3 images of 2 x 2 = 12 bytes", error.Message);
        Assert.Contains("only 11", error.Message);
    }

    public static TheoryData<string, byte[], string> BadLabelFiles => new()
    {
        { "images magic", IdxFiles.Labels([1, 2], magic: 0x00000803), "magic number 0x00000803, expected 0x00000801" },
        { "truncated", IdxFiles.Labels([1, 2], count: 3), "truncated" },
        { "trailing", IdxFiles.Labels([1, 2, 3, 4], count: 2), "2 unexpected trailing bytes" },
        { "zero count", IdxFiles.Labels([], count: 0), "the count must be greater than 0" },
        { "short header", [0x00, 0x00, 0x08], "shorter than the 8-byte header" },
    };

    [Theory]
    [MemberData(nameof(BadLabelFiles))]
    public void ReadLabels_RejectsBadFilesNamingTheFile(string what, byte[] content, string expected)
    {
        string path = _temp.File($"bad-labels-{what.Replace(' ', '-')}");
        File.WriteAllBytes(path, content);

        var error = Assert.Throws<DataException>(() => IdxReader.ReadLabels(path));

        Assert.Contains(path, error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void MissingFileIsADataExceptionNamingIt()
    {
        string path = _temp.File("nowhere/train-images-idx3-ubyte");

        Assert.Contains(path, Assert.Throws<DataException>(() => IdxReader.ReadImages(path)).Message);
        Assert.Contains(path, Assert.Throws<DataException>(() => IdxReader.ReadLabels(path)).Message);
    }
}
