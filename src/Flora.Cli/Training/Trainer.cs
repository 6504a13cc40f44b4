using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using Flora.Data;
using Flora.Comparison;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora.Cli.Training;

/// <summary>What a run measured.</summary>
/// <param name="TestAccuracyPerEpoch">Test accuracy (0..1) after each epoch.</param>
/// <param name="TrainLossPerEpoch">Mean training loss of each epoch.</param>
/// <param name="SecondsPerEpoch">Mean wall-clock seconds of an epoch's training steps (evaluation excluded).</param>
/// <param name="PeakMemoryBytes">On the CPU the resident set's peak growth during the run (<see cref="MemoryProbe"/>); on a GPU the process's GPU memory after it (<see cref="GpuProcessMemory"/>); null when not measurable.</param>
internal sealed record TrainOutcome(IReadOnlyList<double> TestAccuracyPerEpoch, IReadOnlyList<double> TrainLossPerEpoch, double SecondsPerEpoch, long? PeakMemoryBytes)
{
    /// <summary>The accuracy after the last epoch.</summary>
    public double FinalAccuracy => TestAccuracyPerEpoch[^1];
}

/// <summary>Progress of a run: epoch (1-based), step within the epoch, steps per epoch, the last loss.</summary>
internal readonly record struct TrainProgress(int Epoch, int Step, int StepsPerEpoch, double Loss);

/// <summary>
/// Trains a classifier with AdamW, linear warm-up then cosine decay, and gradient clipping; evaluates test accuracy
/// after each epoch. Every step runs in a dispose scope, so memory does not grow with the number of steps.
/// </summary>
internal static class Trainer
{
    /// <summary>Trains <paramref name="parameters"/> of <paramref name="model"/> on <paramref name="train"/> and evaluates on <paramref name="test"/>.</summary>
    public static TrainOutcome Train(nn.Module<Tensor, Tensor> model, IReadOnlyList<Parameter> parameters, ImageDataset train, ImageDataset test,
        Normalisation normalisation, TrainSettings settings, Device device, Action<TrainProgress>? progress = null) =>
        Train(model, parameters, train, test, InputTransform.Normalised(normalisation), settings, device, progress);

    /// <summary>
    /// Trains <paramref name="parameters"/> of <paramref name="model"/> on <paramref name="train"/> and evaluates on
    /// <paramref name="test"/>, each batch turned into the model's input by <paramref name="input"/>.
    /// </summary>
    public static TrainOutcome Train(nn.Module<Tensor, Tensor> model, IReadOnlyList<Parameter> parameters, ImageDataset train, ImageDataset test,
        InputTransform input, TrainSettings settings, Device device, Action<TrainProgress>? progress = null, FloraAttachment? attachment = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        settings.Validate();
        if (parameters.Count == 0) throw new ArgumentException("there is nothing to train: the parameter list is empty");
        int stepsPerEpoch = StepsPerEpoch(train.Count, settings);
        long totalSteps = (long)stepsPerEpoch * settings.Epochs;
        bool allocatesRanks = attachment?.Method == FloraMethod.AdaLora;
        var schedule = new CosineSchedule(settings.LearningRate, (long)(settings.WarmupFraction * totalSteps), totalSteps);
        using var optimizer = new FloraAdamW(parameters, settings.LearningRate, weightDecay: settings.WeightDecay);
        using var generator = new Generator((ulong)settings.Seed);
        var memory = new MemoryProbe();

        var accuracies = new List<double>();
        var losses = new List<double>();
        double trainingSeconds = 0;
        long step = 0;
        for (int epoch = 1; epoch <= settings.Epochs; epoch++)
        {
            model.train();
            if (settings.FrozenBatchNorm) KeepStatistics(model);
            long[] order;
            using (var permutation = randperm(train.Count, generator: generator)) order = permutation.data<long>().ToArray();
            double lossSum = 0;
            var clock = Stopwatch.StartNew();
            for (int batch = 0; batch < stepsPerEpoch; batch++, step++)
            {
                using var scope = NewDisposeScope();
                long[] indices = order.Skip(batch * settings.BatchSize).Take(settings.BatchSize).ToArray();
                var (images, labels) = input.Batch(train, indices, device);
                optimizer.LearningRate = schedule.At(step);
                optimizer.ZeroGrad();
                var loss = nn.functional.cross_entropy(Float32Logits(model, images, settings.Dtype), labels);
                // AdaLoRA trains on the task loss plus its orthogonality term, and reallocates its ranks after each step
                (allocatesRanks ? loss + attachment!.OrthogonalRegularization() : loss).backward();
                if (double.IsFinite(settings.ClipNorm)) optimizer.ClipGradientNorm(settings.ClipNorm).Dispose();
                optimizer.Step();
                if (allocatesRanks) attachment!.UpdateAndAllocate(checked((int)step));
                double value = loss.item<float>();
                if (!double.IsFinite(value)) throw new TrainingDivergedException(value, epoch, batch + 1);
                lossSum += value;
                memory.Sample();
                progress?.Invoke(new TrainProgress(epoch, batch + 1, stepsPerEpoch, value));
            }
            if (device.type == DeviceType.CUDA) cuda.synchronize();
            trainingSeconds += clock.Elapsed.TotalSeconds;
            losses.Add(lossSum / stepsPerEpoch);
            accuracies.Add(Evaluate(model, test, input, settings.BatchSize * 2, device, settings.Dtype));
        }
        return new TrainOutcome(accuracies, losses, trainingSeconds / settings.Epochs, device.type == DeviceType.CPU ? memory.PeakGrowthBytes : GpuProcessMemory.Bytes());
    }

    /// <summary>Top-1 accuracy (0..1) of <paramref name="model"/> on <paramref name="data"/>, in evaluation mode without gradients.</summary>
    public static double Evaluate(nn.Module<Tensor, Tensor> model, ImageDataset data, Normalisation normalisation, int batchSize, Device device) =>
        Evaluate(model, data, InputTransform.Normalised(normalisation), batchSize, device);

    /// <summary>
    /// Top-1 accuracy (0..1) of <paramref name="model"/> on <paramref name="data"/> read through <paramref name="input"/>,
    /// in evaluation mode without gradients, the images in <paramref name="dtype"/> (the network's).
    /// </summary>
    public static double Evaluate(nn.Module<Tensor, Tensor> model, ImageDataset data, InputTransform input, int batchSize, Device device,
        ScalarType dtype = ScalarType.Float32)
    {
        ArgumentNullException.ThrowIfNull(input);
        model.eval();
        long correct = 0;
        using var noGrad = no_grad();
        for (int start = 0; start < data.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            long[] indices = Enumerable.Range(start, Math.Min(batchSize, data.Count - start)).Select(i => (long)i).ToArray();
            var (images, labels) = input.Batch(data, indices, device);
            var predicted = Float32Logits(model, images, dtype).argmax(1);
            correct += predicted.eq(labels).sum().item<long>();
        }
        return (double)correct / data.Count;
    }

    /// <summary>The optimizer steps of one epoch over <paramref name="trainCount"/> images (the last batch may be smaller).</summary>
    public static int StepsPerEpoch(int trainCount, TrainSettings settings) => (trainCount + settings.BatchSize - 1) / settings.BatchSize;

    /// <summary>The model's logits for <paramref name="images"/> given in <paramref name="dtype"/>, as float32 (the loss is computed in float32).</summary>
    private static Tensor Float32Logits(nn.Module<Tensor, Tensor> model, Tensor images, ScalarType dtype)
    {
        Tensor logits = images.dtype == dtype ? model.call(images) : model.call(images.to(dtype));
        return logits.dtype == ScalarType.Float32 ? logits : logits.to(ScalarType.Float32);
    }

    /// <summary>Puts every BatchNorm layer of <paramref name="model"/> back in eval mode: its running statistics stay as they are.</summary>
    private static void KeepStatistics(nn.Module model)
    {
        foreach (var (_, module) in model.named_modules())
        {
            if (module is TorchSharp.Modules.BatchNorm1d or TorchSharp.Modules.BatchNorm2d or TorchSharp.Modules.BatchNorm3d) module.eval();
        }
    }
}
