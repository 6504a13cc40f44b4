using System.Buffers.Binary;
using System.IO;

namespace Flora.Reports.Tests;

public sealed class PlotsTests
{
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Checks the PNG signature and reads IHDR's width and height (big-endian, bytes 16..23).</summary>
    private static (int Width, int Height) ReadPngSize(byte[] png)
    {
        Assert.True(png.Length > 33, "too short for a PNG");
        Assert.Equal(PngSignature, png.Take(8));
        Assert.Equal(13, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(8, 4)));
        Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(png, 12, 4));
        return (BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16, 4)), BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20, 4)));
    }

    [Fact]
    public void WriteAllWritesBothPngsAtTheDefaultSize()
    {
        string directory = FakeRuns.TempDirectory();
        Summary summary = Summary.Compute(FakeRuns.Realistic(seeds: 3));

        IReadOnlyList<PlotLink> links = Plots.WriteAll(summary, directory);

        Assert.Equal([Plots.AccuracyVsParametersFileName, Plots.AccuracyPerEpochFileName], links.Select(l => l.RelativePath));
        foreach (PlotLink link in links)
        {
            byte[] png = File.ReadAllBytes(Path.Combine(directory, link.RelativePath));
            Assert.Equal((Plots.DefaultWidth, Plots.DefaultHeight), ReadPngSize(png));
            Assert.True(png.Length > 15_000, $"{link.RelativePath} is only {png.Length} bytes");
        }
        Assert.Equal(2, Directory.GetFiles(directory).Length); // no temporary files left
        Directory.Delete(directory, recursive: true);
    }

    [Theory]
    [InlineData(640, 400)]
    [InlineData(1200, 750)]
    public void PngsHaveTheRequestedSize(int width, int height)
    {
        string directory = FakeRuns.TempDirectory();
        Summary summary = Summary.Compute(FakeRuns.Realistic(seeds: 2, epochs: 4));
        string scatter = Path.Combine(directory, "scatter.png");
        string lines = Path.Combine(directory, "lines.png");

        Plots.WriteAccuracyVsParameters(summary, scatter, width, height);
        Plots.WriteAccuracyPerEpoch(summary, lines, width, height);

        Assert.Equal((width, height), ReadPngSize(File.ReadAllBytes(scatter)));
        Assert.Equal((width, height), ReadPngSize(File.ReadAllBytes(lines)));
        Assert.Equal(2, Directory.GetFiles(directory).Length);
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public void OneSeedOneEpochAndNoRunsStillRender()
    {
        Summary single = Summary.Compute([FakeRuns.Run("LoRA", 1, 0.9, epochAccuracy: [0.9])]);
        Assert.Equal((300, 200), ReadPngSize(Plots.RenderAccuracyVsParameters(single, 300, 200)));
        Assert.Equal((300, 200), ReadPngSize(Plots.RenderAccuracyPerEpoch(single, 300, 200)));

        Summary empty = Summary.Compute([]);
        Assert.Equal((Plots.DefaultWidth, Plots.DefaultHeight), ReadPngSize(Plots.RenderAccuracyVsParameters(empty)));
        Assert.Equal((Plots.DefaultWidth, Plots.DefaultHeight), ReadPngSize(Plots.RenderAccuracyPerEpoch(empty)));
    }

    [Theory]
    [InlineData(394.0, "394")]
    [InlineData(2_000.0, "2k")]
    [InlineData(100_000.0, "100k")]
    [InlineData(1_500_000.0, "1.5M")]
    public void CompactCountsLabelTheLogAxis(double value, string expected) => Assert.Equal(expected, Plots.CompactCount(value));
}
