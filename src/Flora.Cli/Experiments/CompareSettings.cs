using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Flora.Cli.Training;
using Flora.Comparison;

namespace Flora.Cli.Experiments;

/// <summary>
/// The sizes of a comparison. The defaults finish in about ten minutes on two CPU cores; <see cref="Full"/> uses all of
/// MNIST and the whole 60k/10k split of the fine-tuning data, for a GPU.
/// </summary>
internal sealed record CompareSettings
{
    /// <summary>Where the npm data packages and the pretrained base are cached.</summary>
    public string CacheDirectory { get; init; } = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "flora");
    /// <summary>Where results, plots and adapters go.</summary>
    public string OutputDirectory { get; init; } = Path.Combine("runs", DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
    /// <summary>How many seeds every method runs: <see cref="FirstSeed"/>, <see cref="FirstSeed"/> + 1, ….</summary>
    public int Seeds { get; init; } = 3;
    /// <summary>The first seed.</summary>
    public int FirstSeed { get; init; } = 1;
    /// <summary>"cpu" or "cuda".</summary>
    public string Device { get; init; } = "cpu";
    /// <summary>Pretraining of the base model on MNIST.</summary>
    public PretrainSettings Pretrain { get; init; } = new();
    /// <summary>The downstream task: Fashion-MNIST (the default) or, with the ResNet-18, MNIST digits.</summary>
    public FineTuneDataset Dataset { get; init; } = FineTuneDataset.FashionMnist;
    /// <summary>Training images per class of <see cref="Dataset"/> (<see cref="FineTuneDataset.Subset"/>: its smallest class or more = all).</summary>
    public int TrainPerClass { get; init; } = 500;
    /// <summary>Test images per class of <see cref="Dataset"/> (its smallest class or more = all).</summary>
    public int TestPerClass { get; init; } = 300;
    /// <summary>The fine-tuning schedule (each method's learning rate comes from its plan).</summary>
    public TrainSettings FineTune { get; init; } = new() { Epochs = 4, BatchSize = 64 };
    /// <summary>The network fine-tuned: <see cref="FineTuneModel.TinyConvNeXtName"/> (pretrained here on MNIST) or <see cref="FineTuneModel.ResNet18Name"/> (ImageNet).</summary>
    public string Model { get; init; } = FineTuneModel.TinyConvNeXtName;
    /// <summary>The side the 28×28 images are resized to for the ResNet-18 (a multiple of 32).</summary>
    public int Resolution { get; init; } = 64;
    /// <summary>Learning rates tried per method on a validation split; empty = the plans' rates (the ResNet-18 then uses <see cref="LearningRateSearch.DefaultGrid"/>).</summary>
    public IReadOnlyList<double> LearningRateGrid { get; init; } = Array.Empty<double>();
    /// <summary>An earlier run's learning_rates.csv whose chosen rates are used instead of searching again; null = search.</summary>
    public string? LearningRatesFile { get; init; }
    /// <summary>Training images per class the learning-rate search draws from (stratified); 0 = all the training images.</summary>
    public int SearchPerClass { get; init; }
    /// <summary>Epochs of each learning-rate search run; null = the fine-tuning epochs.</summary>
    public int? SearchEpochs { get; init; }
    /// <summary>The forward path of every adapter (Auto: the cost model chooses per layer and input).</summary>
    public FloraForwardPath ForwardPath { get; init; } = FloraForwardPath.Auto;
    /// <summary>Adapter tensors in float32 beside a 16-bit network (<see cref="FloraModelOptions.AutocastAdapterDtype"/>).</summary>
    public bool AutocastAdapterDtype { get; init; } = true;
    /// <summary>The FLoRA budgets compared (LoRA and DoRA matched to each): A and B by default, a sweep's with <c>--budgets</c>.</summary>
    public IReadOnlyList<FloraBudget> Budgets { get; init; } = MethodPlan.DefaultBudgets;
    /// <summary>Continue the comparison in <see cref="OutputDirectory"/>: keep its learning-rate choices and finished runs, run the rest.</summary>
    public bool Resume { get; init; }
    /// <summary>Only the methods whose labels contain one of these (case-insensitive); empty = all.</summary>
    public IReadOnlyList<string> MethodFilter { get; init; } = Array.Empty<string>();

    /// <summary>
    /// The methods this comparison runs, at <see cref="Budgets"/>, the adapters with its forward path and adapter dtype;
    /// on the ResNet-18 with frozen BatchNorm (<see cref="TrainSettings.FrozenBatchNorm"/>) the adapter methods neither
    /// train nor save the BatchNorm layers.
    /// </summary>
    public IReadOnlyList<MethodPlan> Plans()
    {
        var plans = IsResNet18 ? MethodPlan.ForResNet18(Budgets, saveNormLayers: !FineTune.FrozenBatchNorm) : MethodPlan.Comparison(Budgets);
        return plans.Select(p => p.Method is null ? p : p with { Defaults = AdapterSettings(p.Defaults) }).ToArray();
    }

    /// <summary>The full-data settings for a GPU: all images, a wider network, more epochs.</summary>
    public CompareSettings Full() => this with
    {
        Pretrain = Pretrain with { Width = 64, TrainPerClass = 0, Train = Pretrain.Train with { Epochs = 4, BatchSize = 256 } },
        TrainPerClass = 6000,
        TestPerClass = 1000,
        FineTune = FineTune with { Epochs = 10, BatchSize = 256 },
    };

    /// <summary><paramref name="defaults"/> with this comparison's forward path and adapter dtype.</summary>
    public FloraModelOptions AdapterSettings(FloraModelOptions defaults) =>
        defaults with { ForwardPath = ForwardPath, AutocastAdapterDtype = AutocastAdapterDtype };

    /// <summary>The results table's title, e.g. "Fashion-MNIST fine-tuning of an ImageNet-pretrained ResNet-18".</summary>
    public string TableTitle => Titles(Model, Dataset).Table;

    /// <summary>The report's title, e.g. "FLoRA vs LoRA, DoRA, BitFit and full fine-tuning: ImageNet ResNet-18 → Fashion-MNIST".</summary>
    public string ReportTitle => Titles(Model, Dataset).Report;

    /// <summary>The results table's and the report's titles for the network <paramref name="model"/> (a <c>--model</c> name) fine-tuned on <paramref name="dataset"/>.</summary>
    public static (string Table, string Report) Titles(string model, FineTuneDataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        bool resnet = string.Equals(model, FineTuneModel.ResNet18Name, StringComparison.OrdinalIgnoreCase);
        return ($"{dataset.DisplayName} fine-tuning of {(resnet ? FineTuneModel.ResNet18Description : FineTuneModel.TinyConvNeXtDescription)}",
            $"FLoRA vs LoRA, DoRA, BitFit and full fine-tuning: {(resnet ? "ImageNet ResNet-18" : "MNIST")} → {dataset.DisplayName}");
    }

    /// <summary>
    /// Throws when <see cref="Dataset"/> cannot be fine-tuned with <see cref="Model"/>: the TinyConvNeXt is pretrained on
    /// MNIST digits, so fine-tuning it on them would measure nothing.
    /// </summary>
    public void RequireDatasetFitsModel()
    {
        if (!IsResNet18 && Dataset == FineTuneDataset.Mnist)
            throw new ArgumentException($"--dataset {FineTuneDataset.MnistName} needs --model {FineTuneModel.ResNet18Name}: the {FineTuneModel.TinyConvNeXtName} base is pretrained on MNIST digits, so fine-tuning it on them measures no transfer. Use --dataset {FineTuneDataset.FashionMnistName} with it.");
    }

    /// <summary>Whether the ResNet-18 is fine-tuned.</summary>
    public bool IsResNet18 => string.Equals(Model, FineTuneModel.ResNet18Name, StringComparison.OrdinalIgnoreCase);

    /// <summary>The learning rates tried per method: <see cref="LearningRateGrid"/>, or for the ResNet-18 by default <see cref="LearningRateSearch.DefaultGrid"/>; empty = no search.</summary>
    public IReadOnlyList<double> EffectiveLearningRateGrid =>
        LearningRateGrid.Count > 0 ? LearningRateGrid : IsResNet18 ? LearningRateSearch.DefaultGrid : Array.Empty<double>();

    /// <summary>The settings as key/value pairs for reports.</summary>
    public IEnumerable<KeyValuePair<string, string>> Describe()
    {
        yield return new("device", Device);
        if (IsResNet18)
            yield return new("base model", $"ResNet-18 pretrained on ImageNet (Flora.Pretrained, ONNX weights), new 10-class head; {Dataset.DisplayName} resized to {Resolution}×{Resolution}, gray repeated as RGB; " +
                (FineTune.FrozenBatchNorm ? "BatchNorm layers in eval mode with their ImageNet statistics, not trained by the adapter methods" : "BatchNorm layers trained and saved with the adapter methods"));
        else
            yield return new("base model", $"TinyConvNeXt width {Pretrain.Width}, pretrained on {(Pretrain.TrainPerClass > 0 ? (Pretrain.TrainPerClass * 10).ToString("N0", CultureInfo.InvariantCulture) : "60,000")} MNIST digits for {Pretrain.Train.Epochs} epochs (cache key {Pretrain.Key()})");
        yield return new("fine-tuning data", $"{Dataset.Source}: {TrainPerClass * 10:N0} training and {TestPerClass * 10:N0} test images");
        yield return new("precision", FineTune.Dtype == TorchSharp.torch.ScalarType.Float32 ? "float32"
            : $"{FineTune.Dtype.ToString().ToLowerInvariant()} network, adapter tensors in {(AutocastAdapterDtype ? "float32" : "the network's dtype")}");
        if (ForwardPath != FloraForwardPath.Auto) yield return new("forward path", $"{ForwardPath} for every adapter");
        yield return new("schedule", $"{FineTune.Epochs} epochs, batch {FineTune.BatchSize}, AdamW (weight decay {FineTune.WeightDecay}), {FineTune.WarmupFraction:P0} linear warm-up then cosine, {(double.IsFinite(FineTune.ClipNorm) ? $"gradients clipped at {FineTune.ClipNorm}" : "no gradient clipping")}");
        yield return new("peak memory", string.Equals(Device, "cpu", StringComparison.OrdinalIgnoreCase)
            ? "the growth of the process's resident set during each run"
            : "the process's GPU memory after each run as the driver reports it (NVML: the CUDA context and libtorch's caching allocator's reserve, which only grows in a process: one method's peak when a process runs one method)");
        yield return new("seeds", Seeds == 1 ? FirstSeed.ToString(CultureInfo.InvariantCulture) : $"{FirstSeed}–{FirstSeed + Seeds - 1}");
        if (LearningRatesFile is string reused)
            yield return new("learning rates", $"chosen per method by an earlier run's search on a validation split of the training images ({Path.GetFileName(reused)}; every rate it tried is listed below)");
        else if (EffectiveLearningRateGrid.Count > 0)
            yield return new("learning rates", $"chosen per method on a validation split of {(SearchPerClass > 0 ? $"{SearchPerClass * 10:N0}" : "the")} training images (first seed{(SearchEpochs is int e ? $", {e} epochs" : "")}) from {string.Join(", ", EffectiveLearningRateGrid.Select(LearningRateSearch.Format))}");
        yield return new("budgets", string.Join("; ", Budgets.Select(b => $"{b.Name}: FLoRA rank {b.Rank}, R3 {b.R3}, scale {b.Scale.ToString("R", CultureInfo.InvariantCulture)}")) + "; LoRA/DoRA matched per layer to FLoRA's count");
    }
}
