using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Flora.Cli.Data;
using Flora.Cli.Models;
using Flora.Cli.Reports;
using Spectre.Console;
using static TorchSharp.torch;

namespace Flora.Cli.Experiments;

/// <summary>
/// The main job: pretrain (or reuse) the base on MNIST digits, fine-tune it on Fashion-MNIST with every method of the
/// plan over several seeds, and write the results table, CSV, markdown report, plots and adapters.
/// </summary>
public static class CompareRunner
{
    /// <summary>Loads the data and the base (pretraining it on first use), then runs the comparison; returns the runs.</summary>
    public static IReadOnlyList<RunResult> Run(CompareSettings settings, IReadOnlyList<MethodPlan> plans, IAnsiConsole console)
    {
        Device device = DeviceFor(settings.Device);
        var data = ExperimentData.Prepare(settings, device, new RunProgress(console), message => console.MarkupLine($"[grey]{Markup.Escape(message)}[/]"));
        return Run(settings, plans, console, data, device);
    }

    /// <summary>Runs the comparison on prepared data; returns the runs.</summary>
    public static IReadOnlyList<RunResult> Run(CompareSettings settings, IReadOnlyList<MethodPlan> plans, IAnsiConsole console, ExperimentData data, Device device)
    {
        void Say(string message) => console.MarkupLine($"[grey]{Markup.Escape(message)}[/]");
        var progress = new RunProgress(console);
        var (train, test, basePath) = data;
        Say($"Fine-tuning on {train.Count:N0} Fashion-MNIST images, testing on {test.Count:N0}; {plans.Count} methods × {settings.Seeds} seeds.");
        using (var baseModel = BaseModelStore.Load(basePath, settings.Pretrain.Width, device))
            Say($"The base model scores {Training.Trainer.Evaluate(baseModel, test, Normalisation.FashionMnist, 256, device):P1} on Fashion-MNIST before fine-tuning (10 classes: chance is 10%).");
        Directory.CreateDirectory(settings.OutputDirectory);
        WriteBudgets(Path.Combine(settings.OutputDirectory, "budgets.txt"), plans, basePath, settings.Pretrain.Width, console);

        var runs = new List<RunResult>();
        string adapters = Path.Combine(settings.OutputDirectory, "adapters");
        for (int seed = settings.FirstSeed; seed < settings.FirstSeed + settings.Seeds; seed++)
        {
            foreach (var plan in plans)
            {
                var result = progress.Track($"{plan.Label}, seed {seed}", settings.FineTune.Epochs,
                    report => FineTuneRun.Run(plan, seed, basePath, settings.Pretrain.Width, train, test, settings.FineTune, device, adapters, report));
                runs.Add(result);
                CsvResultsWriter.Write(Path.Combine(settings.OutputDirectory, "results.csv"), runs); // after every run: an interrupted comparison keeps what it measured
                console.MarkupLine($"  [green]{Markup.Escape(plan.Label)}[/] seed {seed}: {result.FinalTestAccuracy:P2} test accuracy, {result.TrainableParameters:N0} trainable, {result.SecondsPerEpoch:F1} s/epoch");
            }
        }

        WriteReport(runs, settings.OutputDirectory, settings.Describe(), console);
        console.MarkupLine($"Also in [bold]{Markup.Escape(settings.OutputDirectory)}[/]: budgets.txt and adapters/.");
        return runs;
    }

    /// <summary>Prints the results table and paired comparisons, and writes results.md, results.csv and the plots.</summary>
    public static void WriteReport(IReadOnlyList<RunResult> runs, string directory, IEnumerable<KeyValuePair<string, string>> settings, IAnsiConsole console)
    {
        var summary = Summary.Compute(runs);
        var comparisons = PairedComparison.FloraAgainstBaselines(runs);
        ResultsTableWriter.Write(console, summary, comparisons, "Fashion-MNIST fine-tuning of an MNIST-pretrained TinyConvNeXt");
        Directory.CreateDirectory(directory);
        CsvResultsWriter.Write(Path.Combine(directory, "results.csv"), runs);
        var plots = Plots.WriteAll(summary, directory);
        MarkdownReport.Write(Path.Combine(directory, "results.md"), "FLoRA vs LoRA, DoRA, BitFit and full fine-tuning: MNIST → Fashion-MNIST",
            settings, summary, comparisons, plots);
        console.MarkupLine($"Wrote [bold]{Markup.Escape(directory)}[/]: results.md, results.csv, {string.Join(", ", plots.Select(p => Path.GetFileName(p.RelativePath)))}.");
    }

    /// <summary>The torch device for a name, with a clear error when CUDA is asked for and missing.</summary>
    public static Device DeviceFor(string name) => name.ToLowerInvariant() switch
    {
        "cpu" => CPU,
        "cuda" when cuda.is_available() => CUDA,
        "cuda" => throw new InvalidOperationException("--device cuda was given but CUDA is not available: build with -p:FloraBackend=cuda (TorchSharp-cuda-linux) on a machine with an NVIDIA GPU, or use --device cpu."),
        _ => throw new ArgumentException($"unknown device '{name}': use cpu or cuda"),
    };

    /// <summary>Writes (and prints) the adapter table of every method: the matched LoRA/DoRA ranks per layer.</summary>
    private static void WriteBudgets(string path, IReadOnlyList<MethodPlan> plans, string basePath, int width, IAnsiConsole console)
    {
        var text = new System.Text.StringBuilder();
        using var model = BaseModelStore.Load(basePath, width, CPU);
        foreach (var plan in plans.Where(p => p.Method is not null))
        {
            var adapters = model.AttachFlora(plan.Method!.Value, plan.Defaults);
            text.AppendLine(plan.Label).AppendLine(adapters.ToString()).AppendLine();
            model.DetachFlora();
        }
        AtomicFile.WriteAllText(path, text.ToString());
        console.MarkupLine($"[grey]Per-layer adapters and matched budgets: {Markup.Escape(path)}[/]");
    }
}
