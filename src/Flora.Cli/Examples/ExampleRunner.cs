using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Flora.Cli.Experiments;
using Flora.Cli.Training;
using Flora.Data;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora.Cli.Examples;

/// <summary>
/// Runs an example: pretrains its network on the source task, saves it, then trains FLoRA's adapters and LoRA's (at
/// FLoRA's budget) on the target task from that same base, measuring the metric before and after and saving each adapter.
/// </summary>
internal static class ExampleRunner
{
    /// <summary>The methods compared, in order.</summary>
    public static IReadOnlyList<FloraMethod> Methods { get; } = new[] { FloraMethod.Flora, FloraMethod.Lora };

    /// <summary>Pixel values in [0, 1]: the examples' input (the tasks add noise or quantise it themselves).</summary>
    private static readonly Normalisation UnitPixels = new(0f, 1f);

    /// <summary>Runs <paramref name="task"/> on <paramref name="data"/>, writing the base and the adapters into <paramref name="outputDirectory"/>.</summary>
    public static ExampleReport Run(ExampleTask task, ExampleData data, ExampleSettings settings, string outputDirectory, RunProgress progress)
    {
        Directory.CreateDirectory(outputDirectory);
        random.manual_seed(settings.Seed);
        using var network = task.CreateNetwork();
        long baseParameters = network.parameters().Sum(p => p.numel());
        var pretrainLosses = progress.Track($"{task.Name}: pretraining every weight on {data.SourceTrain.Name}", settings.Epochs,
            report => Train(task, network, network.parameters().ToArray(), data.SourceTrain, settings, settings.PretrainLearningRate, report));
        double source = Measure(task, network, data.SourceTest, settings);
        double before = Measure(task, network, data.TargetTest, settings);
        string basePath = Path.Combine(outputDirectory, $"{task.Name}-base.pt");
        network.save(basePath);

        var runs = new List<ExampleRun>();
        foreach (var method in Methods)
        {
            var attachment = task.Attach(network, method);
            var losses = progress.Track($"{task.Name}: {Label(method)} adapters on {data.TargetTrain.Name}", settings.Epochs,
                report => Train(task, network, attachment.Parameters().ToArray(), data.TargetTrain, settings, settings.AdapterLearningRate, report));
            double after = Measure(task, network, data.TargetTest, settings);
            string adapterPath = AdapterPath(outputDirectory, task, method);
            attachment.Save(adapterPath);
            runs.Add(new ExampleRun(method, attachment.TrainableParameters, losses, after, adapterPath));
            attachment.Detach();
        }
        return new ExampleReport(baseParameters, pretrainLosses, source, before, basePath, runs);
    }

    /// <summary>The method's name as the report prints it.</summary>
    public static string Label(FloraMethod method) => method == FloraMethod.Flora ? "FLoRA" : "LoRA";

    /// <summary>Where the adapter of <paramref name="method"/> is saved.</summary>
    public static string AdapterPath(string outputDirectory, ExampleTask task, FloraMethod method) =>
        Path.Combine(outputDirectory, $"{task.Name}-{method.ToString().ToLowerInvariant()}.flora.safetensors");

    /// <summary>
    /// The metric of <paramref name="network"/> on <paramref name="data"/> in evaluation mode without gradients; the
    /// noise is drawn from the same seed every time, so the same weights give the same figure bit for bit.
    /// </summary>
    public static double Measure(ExampleTask task, nn.Module<Tensor, Tensor> network, ImageDataset data, ExampleSettings settings)
    {
        network.eval();
        using var noGrad = no_grad();
        using var noise = new Generator((ulong)settings.Seed + 1);
        double sum = 0;
        foreach (long[] indices in data.BatchIndices(settings.BatchSize))
        {
            using var scope = NewDisposeScope();
            var (pixels, labels) = data.Batch(indices, UnitPixels);
            sum += task.Score(network, pixels, labels, noise);
        }
        return sum / data.Count;
    }

    /// <summary>AdamW on <paramref name="parameters"/> with a cosine schedule; returns each epoch's mean loss.</summary>
    private static IReadOnlyList<double> Train(ExampleTask task, nn.Module<Tensor, Tensor> network, IReadOnlyList<Parameter> parameters, ImageDataset data,
        ExampleSettings settings, double learningRate, Action<TrainProgress> progress)
    {
        network.train();
        int stepsPerEpoch = (data.Count + settings.BatchSize - 1) / settings.BatchSize;
        var schedule = new CosineSchedule(learningRate, stepsPerEpoch / 2, (long)stepsPerEpoch * settings.Epochs);
        using var optimizer = new FloraAdamW(parameters, learningRate);
        using var noise = new Generator((ulong)settings.Seed);
        var losses = new List<double>();
        long step = 0;
        for (int epoch = 1; epoch <= settings.Epochs; epoch++)
        {
            double sum = 0;
            int batch = 0;
            foreach (long[] indices in data.BatchIndices(settings.BatchSize, shuffleSeed: settings.Seed * 1000L + epoch))
            {
                using var scope = NewDisposeScope();
                var (pixels, labels) = data.Batch(indices, UnitPixels);
                optimizer.LearningRate = schedule.At(step++);
                optimizer.ZeroGrad();
                var loss = task.Loss(network, pixels, labels, noise);
                loss.backward();
                optimizer.Step();
                double value = loss.item<float>();
                if (!double.IsFinite(value)) throw new TrainingDivergedException(value, epoch, batch + 1);
                sum += value;
                progress(new TrainProgress(epoch, ++batch, stepsPerEpoch, value));
            }
            losses.Add(sum / batch);
        }
        return losses;
    }
}
