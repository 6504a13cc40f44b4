using System;
using System.IO;
using System.Linq;
using Flora.Cli.Training;
using Flora.Comparison;
using Flora.Data;
using Flora.Reports;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora.Cli.Experiments;

/// <summary>One method on one seed: load the base, attach the method through the generated members, train, measure.</summary>
internal static class FineTuneRun
{
    /// <summary>Runs <paramref name="plan"/> with <paramref name="seed"/> on the TinyConvNeXt base at <paramref name="basePath"/>; saves the adapters into <paramref name="adapterDirectory"/> when given.</summary>
    public static RunResult Run(MethodPlan plan, int seed, string basePath, int width, ImageDataset train, ImageDataset test, TrainSettings settings,
        Device device, string? adapterDirectory, Action<TrainProgress>? progress = null, string? adapterFileName = null)
    {
        using var model = new TinyConvNeXtModel(basePath, width);
        return Run(plan, seed, model, train, test, settings, device, adapterDirectory, progress, adapterFileName);
    }

    /// <summary>Runs <paramref name="plan"/> with <paramref name="seed"/> on a fresh copy of <paramref name="baseModel"/>; saves the adapters into <paramref name="adapterDirectory"/> when given.</summary>
    public static RunResult Run(MethodPlan plan, int seed, FineTuneModel baseModel, ImageDataset train, ImageDataset test, TrainSettings settings,
        Device device, string? adapterDirectory, Action<TrainProgress>? progress = null, string? adapterFileName = null)
    {
        ArgumentNullException.ThrowIfNull(baseModel);
        manual_seed(seed); // a new head's initialisation
        using var model = baseModel.Create(device);
        if (settings.Dtype != ScalarType.Float32) model.to(settings.Dtype); // before attaching: the adapters choose their dtype from the base's
        manual_seed(seed); // the adapters' initialisation
        Parameter[] trainable;
        FloraAttachment? attachment = null;
        if (plan.Method is FloraMethod method)
        {
            if (method == FloraMethod.AdaLora)
                plan = plan with { Defaults = plan.Defaults with { AdaLora = AdaLoraSchedule(plan.Defaults.AdaLora, (long)Trainer.StepsPerEpoch(train.Count, settings) * settings.Epochs) } };
            attachment = baseModel.Attach(model, plan, method);
            trainable = attachment.Parameters().ToArray();
        }
        else
        {
            trainable = model.parameters().ToArray();
        }
        long total = model.parameters().Sum(p => p.numel()); // the adapted model, as PEFT's "trainable %" counts it
        var outcome = Trainer.Train(model, trainable, train, test, baseModel.Input,
            settings with { LearningRate = plan.LearningRate, Seed = seed }, device, progress, attachment);

        if (attachment is not null && adapterDirectory is not null)
        {
            Directory.CreateDirectory(adapterDirectory);
            attachment.Save(Path.Combine(adapterDirectory, adapterFileName ?? $"{Slug(plan.Label)}-seed{seed}.safetensors"));
        }
        return new RunResult(plan.Label, plan.Kind, plan.Budget, seed, trainable.Sum(p => p.numel()), total,
            outcome.TestAccuracyPerEpoch, outcome.FinalAccuracy, outcome.TrainLossPerEpoch, outcome.SecondsPerEpoch, outcome.PeakMemoryBytes);
    }

    /// <summary>
    /// AdaLoRA's budget schedule for a run of <paramref name="totalSteps"/> optimizer steps, the proportions of PEFT's
    /// example (200 warm-up and 1,000 final steps of a few thousand): every rank kept for the first 10 % of the steps, the
    /// budget falling until 70 %, the final allocation fixed for the last 30 %; a reallocation every 1 % of the steps.
    /// What <paramref name="options"/> sets (the ranks) is kept.
    /// </summary>
    internal static AdaLoraOptions AdaLoraSchedule(AdaLoraOptions? options, long totalSteps)
    {
        int total = checked((int)totalSteps);
        return (options ?? new AdaLoraOptions()) with { TotalSteps = total, TInit = total / 10, TFinal = 3 * total / 10, DeltaT = Math.Max(1, total / 100) };
    }

    /// <summary>A file-name form of a label: "FLoRA (budget A)" → "flora-budget-a".</summary>
    public static string Slug(string label) =>
        string.Join("-", new string(label.ToLowerInvariant().Select(c => char.IsLetterOrDigit(c) ? c : ' ').ToArray()).Split(' ', StringSplitOptions.RemoveEmptyEntries));
}
