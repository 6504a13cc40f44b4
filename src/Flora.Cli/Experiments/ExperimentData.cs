using System;
using System.IO;
using Flora.Data;
using static TorchSharp.torch;

namespace Flora.Cli.Experiments;

/// <summary>The data and base model one command needs: the Fashion-MNIST subsets and the pretrained base's path.</summary>
internal sealed record ExperimentData(ImageDataset Train, ImageDataset Test, string BasePath)
{
    /// <summary>Loads the data sets (downloading them on first use) and pretrains or reuses the base model.</summary>
    public static ExperimentData Prepare(CompareSettings settings, Device device, RunProgress progress, Action<string> say)
    {
        string basePath = EnsureBase(settings, device, progress, say);
        var (train, test) = LoadFashionMnist(settings, say);
        return new ExperimentData(train, test, basePath);
    }

    /// <summary>
    /// The data and the network <paramref name="settings"/> choose: the ImageNet ResNet-18 (no pretraining here), or the
    /// TinyConvNeXt base pretrained on MNIST (or reused from the cache). The caller disposes the network.
    /// </summary>
    public static (ImageDataset Train, ImageDataset Test, FineTuneModel Network) PrepareNetwork(CompareSettings settings, Device device, RunProgress progress, Action<string> say)
    {
        if (settings.IsResNet18)
        {
            var (train, test) = LoadFashionMnist(settings, say);
            return (train, test, new ResNet18Model(settings.Resolution));
        }
        var data = Prepare(settings, device, progress, say);
        return (data.Train, data.Test, new TinyConvNeXtModel(data.BasePath, settings.Pretrain.Width));
    }

    /// <summary>The Fashion-MNIST training and test subsets of <paramref name="settings"/> (downloaded on first use); no base model.</summary>
    public static (ImageDataset Train, ImageDataset Test) LoadFashionMnist(CompareSettings settings, Action<string> say)
    {
        var (fashionTrain, fashionTest) = DataSets.LoadFashionMnist(settings.CacheDirectory, new SyncProgress(say));
        // One fixed subset for every method and seed, so that seeds pair across methods.
        var train = settings.TrainPerClass >= DataSets.FashionMnistTrainPerClass ? fashionTrain : fashionTrain.StratifiedSample(settings.TrainPerClass, DataSets.FashionMnistSplitSeed);
        var test = settings.TestPerClass >= DataSets.FashionMnistTestPerClass ? fashionTest : fashionTest.StratifiedSample(settings.TestPerClass, DataSets.FashionMnistSplitSeed);
        return (train, test);
    }

    /// <summary>The pretrained base's path: reused from the cache, else MNIST is loaded (only then) and the base pretrained.</summary>
    public static string EnsureBase(CompareSettings settings, Device device, RunProgress progress, Action<string> say)
    {
        string path = BaseModelStore.PathFor(settings.CacheDirectory, settings.Pretrain);
        if (File.Exists(path))
        {
            say($"Using the cached base model {path}.");
            return path;
        }
        var (mnistTrain, mnistTest) = DataSets.LoadMnist(settings.CacheDirectory, new SyncProgress(say));
        return progress.Track("pretraining the base on MNIST", settings.Pretrain.Train.Epochs,
            report => BaseModelStore.Ensure(settings.CacheDirectory, settings.Pretrain, mnistTrain, mnistTest, device, say, report)).Path;
    }
}
