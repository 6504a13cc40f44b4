using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using Flora.Cli.Training;
using Flora.Data;
using Flora.Comparison;
using TorchSharp;
using static TorchSharp.torch;

namespace Flora.Cli.Experiments;

/// <summary>How the base model is pretrained on MNIST digits; its hash names the cached weights.</summary>
internal sealed record PretrainSettings
{
    /// <summary>Channels of the network's first stage.</summary>
    public int Width { get; init; } = 32;
    /// <summary>MNIST training images used (a stratified sample; 0 = all 60,000).</summary>
    public int TrainPerClass { get; init; } = 1500;
    /// <summary>The training schedule.</summary>
    public TrainSettings Train { get; init; } = new() { Epochs = 2, LearningRate = 2e-3, BatchSize = 128, Seed = 7 };

    /// <summary>A short hash of everything that changes the weights (with the model's and data's versions).</summary>
    public string Key()
    {
        string text = string.Join("|", "TinyConvNeXt-v1", DataSets.MnistPackageName + "@" + DataSets.MnistPackageVersion, Width, TrainPerClass, Train.Epochs, Train.BatchSize,
            Train.LearningRate.ToString("R", CultureInfo.InvariantCulture), Train.WeightDecay.ToString("R", CultureInfo.InvariantCulture),
            Train.WarmupFraction.ToString("R", CultureInfo.InvariantCulture), Train.ClipNorm.ToString("R", CultureInfo.InvariantCulture), Train.Seed);
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..12].ToLowerInvariant();
    }
}

/// <summary>
/// The pretrained base model: trained on MNIST digits once per settings and cached as a safetensors file of its
/// state dict (<c>{cache}/base-{hash}.safetensors</c>), then loaded by every fine-tuning run.
/// </summary>
internal static class BaseModelStore
{
    /// <summary>The cached weights' path for these settings.</summary>
    public static string PathFor(string cacheDirectory, PretrainSettings settings) =>
        System.IO.Path.Combine(cacheDirectory, $"base-{settings.Key()}.safetensors");

    /// <summary>The cached weights' path for these settings; a clear error when no command has pretrained them yet.</summary>
    public static string CachedPath(string cacheDirectory, PretrainSettings settings)
    {
        string path = PathFor(cacheDirectory, settings);
        if (!System.IO.File.Exists(path))
            throw new InvalidOperationException($"no pretrained base at {path}: run `flora compare` or `flora train` once first (with the same --data-dir).");
        return path;
    }

    /// <summary>Returns the cached base weights' path, pretraining first when they are not there yet.</summary>
    public static (string Path, double? Accuracy) Ensure(string cacheDirectory, PretrainSettings settings, ImageDataset mnistTrain, ImageDataset mnistTest,
        Device device, Action<string> log, Action<TrainProgress>? progress = null)
    {
        string path = PathFor(cacheDirectory, settings);
        if (File.Exists(path))
        {
            log($"Using the cached base model {path}.");
            return (path, null);
        }
        var train = settings.TrainPerClass > 0 ? mnistTrain.StratifiedSample(settings.TrainPerClass, settings.Train.Seed) : mnistTrain;
        log($"Pretraining the base model on {train.Count:N0} MNIST digits for {settings.Train.Epochs} epochs (cached afterwards as {path}).");
        manual_seed(settings.Train.Seed);
        using var model = new TinyConvNeXt(settings.Width);
        model.to(device);
        var outcome = Trainer.Train(model, model.parameters().ToList(), train, mnistTest, Normalisation.Mnist, settings.Train, device, progress);
        Directory.CreateDirectory(cacheDirectory);
        Safetensors.Save(path, model.state_dict(), new Dictionary<string, string> { ["pretrain"] = settings.Key(), ["mnist_test_accuracy"] = outcome.FinalAccuracy.ToString("R", CultureInfo.InvariantCulture) });
        log($"Base model: {outcome.FinalAccuracy:P2} on the 10,000 MNIST test digits.");
        return (path, outcome.FinalAccuracy);
    }

    /// <summary>Creates the network and loads the base weights into it, checking every key and shape.</summary>
    public static TinyConvNeXt Load(string path, int width, Device device)
    {
        var model = new TinyConvNeXt(width);
        using var content = Safetensors.Load(path);
        var state = model.state_dict();
        var missing = state.Keys.Where(k => !content.Tensors.ContainsKey(k)).ToList();
        var extra = content.Tensors.Keys.Where(k => !state.ContainsKey(k)).ToList();
        if (missing.Count > 0 || extra.Count > 0)
            throw new InvalidDataException($"Base model '{path}' does not match a TinyConvNeXt of width {width} (missing: {string.Join(", ", missing.Take(5))}; unexpected: {string.Join(", ", extra.Take(5))}). Delete it to pretrain again.");
        using (no_grad())
        {
            foreach (var (key, tensor) in state)
            {
                if (!tensor.shape.SequenceEqual(content.Tensors[key].shape))
                    throw new InvalidDataException($"Base model '{path}', key '{key}': shape [{string.Join(", ", content.Tensors[key].shape)}] but the network has [{string.Join(", ", tensor.shape)}]. Delete it to pretrain again.");
                tensor.copy_(content.Tensors[key]);
            }
        }
        model.to(device);
        return model;
    }
}
