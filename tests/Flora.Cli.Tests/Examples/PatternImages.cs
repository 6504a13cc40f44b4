using Flora.Data;

namespace Flora.Cli.Tests.Examples;

/// <summary>
/// Small learnable image sets for the examples' tests: class c is a bright 8×8 square at a place that depends on c
/// (rows first for the source set, columns first for the target set: a domain gap), over faint random noise.
/// </summary>
internal static class PatternImages
{
    /// <summary><paramref name="perClass"/> images of each of the 10 classes.</summary>
    public static ImageDataset Create(string name, int perClass, int seed, bool transposed)
    {
        var random = new Random(seed);
        int count = perClass * ImageDataset.ClassCount;
        var pixels = new byte[count * ImageDataset.PixelsPerImage];
        var labels = new byte[count];
        for (int i = 0; i < count; i++)
        {
            int label = i % ImageDataset.ClassCount;
            labels[i] = (byte)label;
            var image = pixels.AsSpan(i * ImageDataset.PixelsPerImage, ImageDataset.PixelsPerImage);
            for (int p = 0; p < image.Length; p++) image[p] = (byte)random.Next(0, 60);
            int top = (label / 5) * 14 + 3, left = (label % 5) * 5;
            if (transposed) (top, left) = (left, top);
            for (int row = top; row < top + 8; row++)
                for (int column = left; column < left + 8; column++)
                    image[row * ImageDataset.ImageColumns + column] = (byte)random.Next(200, 256);
        }
        return new ImageDataset(name, pixels, labels, Normalisation.Mnist);
    }
}
