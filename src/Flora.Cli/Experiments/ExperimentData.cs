using System;
using System.IO;
using Flora.Data;
using static TorchSharp.torch;

namespace Flora.Cli.Experiments;

/// <summary>The data and base model one command needs: the fine-tuning data's subsets and the pretrained base's path.</summary>
internal sealed record ExperimentData(ImageDataset Train, ImageDataset Test, string BasePath)
{
    /// <summary>Loads the data sets (downloading them on first use) and pretrains or reuses the base model.</summary>
    public static ExperimentData Prepare(CompareSettings settings, Device device, RunProgress progress, Action<string> say)
    {
        var (train, test) = LoadFineTuneData(settings, say);
        string basePath = EnsureBase(settings, device, progress, say);
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
            var (train, test) = LoadFineTuneData(settings, say);
            return (train, test, new ResNet18Model(settings.Resolution));
        }
        var data = Prepare(settings, device, progress, say);
        return (data.Train, data.Test, new TinyConvNeXtModel(data.BasePath, settings.Pretrain.Width));
    }

    /// <summary>
    /// The training and test subsets of <paramref name="settings"/>' data set (downloaded on first use), one fixed subset
    /// for every method and seed so that seeds pair across methods; no base model.
    /// </summary>
    /// <exception cref="ArgumentException">The data set does not fit the model (<see cref="CompareSettings.RequireDatasetFitsModel"/>).</exception>
    public static (ImageDataset Train, ImageDataset Test) LoadFineTuneData(CompareSettings settings, Action<string> say)
    {
        settings.RequireDatasetFitsModel();
        return settings.Dataset.Load(settings.CacheDirectory, settings.TrainPerClass, settings.TestPerClass, new SyncProgress(say));
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
