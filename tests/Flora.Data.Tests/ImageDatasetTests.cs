namespace Flora.Data.Tests;

public sealed class ImageDatasetTests
{
    /// <summary>A data set of <paramref name="perClass"/> images per class, labels cycling 0..9, pixels from the fixture pattern.</summary>
    private static ImageDataset Make(int perClass, Normalisation? normalisation = null)
    {
        int count = perClass * 10;
        var labels = new byte[count];
        for (int i = 0; i < count; i++)
        {
            labels[i] = (byte)(i % 10);
        }

        return new ImageDataset("fixture", DataFixtures.Pixels(count), labels, normalisation ?? Normalisation.Mnist);
    }

    [Fact]
    public void ExposesCountPixelsAndLabels()
    {
        ImageDataset data = Make(3);

        Assert.Equal(30, data.Count);
        Assert.Equal(30 * 784, data.Pixels.Length);
        Assert.Equal(Enumerable.Repeat(3, 10), data.CountPerClass());
        Assert.Equal(DataFixtures.Pixel(4, 100), data.GetImage(4)[100]);
    }

    [Fact]
    public void RejectsALabelOutside0To9NamingItsIndex()
    {
        var labels = new byte[] { 0, 9, 10 };

        var error = Assert.Throws<DataException>(() => new ImageDataset("bad set", new byte[3 * 784], labels, Normalisation.Mnist));

        Assert.Contains("bad set", error.Message);
        Assert.Contains("index 2 is 10", error.Message);
    }

    [Fact]
    public void RejectsPixelsThatDoNotMatchTheLabels()
    {
        Assert.Throws<DataException>(() => new ImageDataset("bad", new byte[784 * 2 + 1], new byte[2], Normalisation.Mnist));
    }

    [Fact]
    public void RejectsANonPositiveStd()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageDataset("bad", new byte[784], new byte[1], new Normalisation(0.5f, 0f)));
    }

    [Fact]
    public void ToTensorsHasTheRightShapesTypesAndValues()
    {
        var pixels = new byte[3 * 784];
        pixels[(1 * 784) + (2 * 28) + 5] = 255; // image 1, row 2, column 5
        pixels[(2 * 784) + 783] = 51;           // image 2, last pixel
        var data = new ImageDataset("known", pixels, [4, 7, 9], Normalisation.Mnist);

        (Tensor images, Tensor labels) = data.ToTensors(new long[] { 2, 1 });
        using (images)
        using (labels)
        {
            Assert.Equal(new long[] { 2, 1, 28, 28 }, images.shape);
            Assert.Equal(ScalarType.Float32, images.dtype);
            Assert.Equal(new long[] { 2 }, labels.shape);
            Assert.Equal(ScalarType.Int64, labels.dtype);
            Assert.Equal(new long[] { 9, 7 }, labels.data<long>().ToArray());

            float zero = (0f - 0.1307f) / 0.3081f;
            Assert.Equal((1f - 0.1307f) / 0.3081f, images[1, 0, 2, 5].item<float>(), 5);
            Assert.Equal(2.821486f, images[1, 0, 2, 5].item<float>(), 5);
            Assert.Equal(((51f / 255f) - 0.1307f) / 0.3081f, images[0, 0, 27, 27].item<float>(), 5);
            Assert.Equal(zero, images[0, 0, 0, 0].item<float>(), 5);
            Assert.Equal(-0.4242129f, images[1, 0, 2, 4].item<float>(), 5);
        }
    }

    [Fact]
    public void BatchUsesTheGivenNormalisation()
    {
        var pixels = new byte[2 * 784];
        pixels[784 + 10] = 255;
        var data = new ImageDataset("known", pixels, [0, 1], Normalisation.Mnist);

        (Tensor images, Tensor labels) = data.Batch(new long[] { 1 }, Normalisation.FashionMnist);
        using (images)
        using (labels)
        {
            Assert.Equal(new long[] { 1, 1, 28, 28 }, images.shape);
            Assert.Equal((1f - 0.2860f) / 0.3530f, images[0, 0, 0, 10].item<float>(), 5);
            Assert.Equal(-0.2860f / 0.3530f, images[0, 0, 0, 0].item<float>(), 5);
        }
    }

    [Fact]
    public void BatchMatchesTheFullFormulaForEveryPixel()
    {
        ImageDataset data = Make(1, Normalisation.FashionMnist);
        long[] indices = [3, 0, 9];

        (Tensor images, Tensor labels) = data.ToTensors(indices);
        using (images)
        using (labels)
        {
            float[] values = images.data<float>().ToArray();
            for (int b = 0; b < indices.Length; b++)
            {
                for (int p = 0; p < 784; p++)
                {
                    float expected = ((DataFixtures.Pixel((int)indices[b], p) / 255f) - 0.2860f) / 0.3530f;
                    Assert.Equal(expected, values[(b * 784) + p], 5);
                }
            }

            Assert.Equal(new long[] { 3, 0, 9 }, labels.data<long>().ToArray());
        }
    }

    [Fact]
    public void GetBatchEqualsToTensorsOfTheSameRange()
    {
        ImageDataset data = Make(2);

        (Tensor a, Tensor la) = data.GetBatch(5, 4);
        (Tensor b, Tensor lb) = data.ToTensors(new long[] { 5, 6, 7, 8 });
        using (a)
        using (la)
        using (b)
        using (lb)
        {
            Assert.Equal(b.shape, a.shape);
            Assert.Equal(b.data<float>().ToArray(), a.data<float>().ToArray());
            Assert.Equal(lb.data<long>().ToArray(), la.data<long>().ToArray());
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => data.GetBatch(18, 3));
    }

    [Fact]
    public void RejectsBadIndices()
    {
        ImageDataset data = Make(1);

        Assert.Throws<ArgumentOutOfRangeException>(() => data.ToTensors(new long[] { 0, 10 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => data.ToTensors(new long[] { -1 }));
        Assert.Throws<ArgumentException>(() => data.ToTensors(Array.Empty<long>()));
        Assert.Throws<ArgumentOutOfRangeException>(() => data.Subset([10]));
    }

    [Fact]
    public void SubsetCopiesTheChosenImagesInOrder()
    {
        ImageDataset data = Make(2);

        ImageDataset subset = data.Subset([7, 2, 7], "three");

        Assert.Equal("three", subset.Name);
        Assert.Equal(3, subset.Count);
        Assert.Equal(new byte[] { 7, 2, 7 }, subset.Labels);
        Assert.Equal(data.GetImage(7).ToArray(), subset.GetImage(0).ToArray());
        Assert.Equal(data.GetImage(2).ToArray(), subset.GetImage(1).ToArray());
        Assert.Equal(data.Normalisation, subset.Normalisation);
    }

    [Fact]
    public void StratifiedSampleIsBalancedAndDeterministic()
    {
        ImageDataset data = Make(50);

        ImageDataset a = data.StratifiedSample(7, seed: 11);
        ImageDataset b = data.StratifiedSample(7, seed: 11);
        ImageDataset c = data.StratifiedSample(7, seed: 12);

        Assert.Equal(Enumerable.Repeat(7, 10), a.CountPerClass());
        Assert.Equal(a.Pixels, b.Pixels);
        Assert.Equal(a.Labels, b.Labels);
        Assert.NotEqual(a.Pixels, c.Pixels);
        // Every sampled image is a distinct original image with its own label.
        var originals = new HashSet<int>();
        for (int i = 0; i < a.Count; i++)
        {
            int original = FindImage(data, a.GetImage(i));
            Assert.True(originals.Add(original));
            Assert.Equal(data.Labels[original], a.Labels[i]);
        }

        Assert.Throws<DataException>(() => data.StratifiedSample(51, seed: 1));
    }

    [Fact]
    public void ShuffledIndicesAndBatchIndicesCoverEveryImageOnce()
    {
        ImageDataset data = Make(3);

        long[] shuffled = data.ShuffledIndices(5);
        Assert.Equal(Enumerable.Range(0, 30).Select(i => (long)i), shuffled.Order());
        Assert.Equal(shuffled, data.ShuffledIndices(5));
        Assert.NotEqual(shuffled, data.ShuffledIndices(6));

        List<long[]> batches = data.BatchIndices(8, shuffleSeed: 5).ToList();
        Assert.Equal(new[] { 8, 8, 8, 6 }, batches.Select(b => b.Length));
        Assert.Equal(shuffled, batches.SelectMany(b => b));
        Assert.Equal(3, data.BatchIndices(8, dropLast: true).Count());
        Assert.Equal(Enumerable.Range(0, 30).Select(i => (long)i), data.BatchIndices(7).SelectMany(b => b));
    }

    private static int FindImage(ImageDataset data, ReadOnlySpan<byte> image)
    {
        for (int i = 0; i < data.Count; i++)
        {
            if (data.GetImage(i).SequenceEqual(image))
            {
                return i;
            }
        }

        return -1;
    }
}
