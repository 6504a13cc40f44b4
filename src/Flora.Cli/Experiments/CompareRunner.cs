using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Flora.Comparison;
using Flora.Data;
using Flora.Reports;
using Spectre.Console;
using static TorchSharp.torch;

namespace Flora.Cli.Experiments;

/// <summary>
/// The main job: pretrain (or reuse) the base on MNIST digits, or take the ImageNet ResNet-18, fine-tune it on the
/// settings' data set (Fashion-MNIST by default) with every method of the plan over several seeds, and write the
/// results table, CSV, markdown report, plots and adapters.
/// </summary>
internal static class CompareRunner
{
    /// <summary>Loads the data and the base (pretraining it on first use; the ResNet-18 needs none), then runs the comparison; returns the runs.</summary>
    public static IReadOnlyList<RunResult> Run(CompareSettings settings, IReadOnlyList<MethodPlan> plans, IAnsiConsole console)
    {
        Device device = DeviceFor(settings.Device);
        void Say(string message) => console.MarkupLine($"[grey]{Markup.Escape(message)}[/]");
        if (settings.IsResNet18)
        {
            var (train, test) = ExperimentData.LoadFineTuneData(settings, Say);
            using var model = new ResNet18Model(settings.Resolution);
            return Run(settings, plans, console, train, test, model, device);
        }
        var data = ExperimentData.Prepare(settings, device, new RunProgress(console), Say);
        return Run(settings, plans, console, data, device);
    }

    /// <summary>Runs the comparison on prepared data and the TinyConvNeXt base; returns the runs.</summary>
    public static IReadOnlyList<RunResult> Run(CompareSettings settings, IReadOnlyList<MethodPlan> plans, IAnsiConsole console, ExperimentData data, Device device)
    {
        var (train, test, basePath) = data;
        using (var baseModel = BaseModelStore.Load(basePath, settings.Pretrain.Width, device))
            console.MarkupLine($"[grey]The base model scores {Training.Trainer.Evaluate(baseModel, test, Normalisation.FashionMnist, 256, device):P1} on {Markup.Escape(settings.Dataset.DisplayName)} before fine-tuning (10 classes: chance is 10%).[/]");
        using var model = new TinyConvNeXtModel(basePath, settings.Pretrain.Width);
        return Run(settings, plans, console, train, test, model, device);
    }

    /// <summary>
    /// Runs the comparison on <paramref name="model"/>: with a learning-rate grid (<see cref="CompareSettings.EffectiveLearningRateGrid"/>)
    /// each method's rate is first chosen on a validation split, then every method trains every seed; returns the runs.
    /// </summary>
    public static IReadOnlyList<RunResult> Run(CompareSettings settings, IReadOnlyList<MethodPlan> plans, IAnsiConsole console, ImageDataset train, ImageDataset test,
        FineTuneModel model, Device device)
    {
        ArgumentNullException.ThrowIfNull(model);
        void Say(string message) => console.MarkupLine($"[grey]{Markup.Escape(message)}[/]");
        var progress = new RunProgress(console);
        Say($"Fine-tuning {model.Description} on {train.Count:N0} {settings.Dataset.DisplayName} images, testing on {test.Count:N0}; {plans.Count} methods × {settings.Seeds} seeds.");
        Directory.CreateDirectory(settings.OutputDirectory);
        var checkpoint = CompareCheckpoint.Open(settings);
        if (settings.Resume)
            Say($"Resuming the comparison in {settings.OutputDirectory}: {checkpoint.Runs.Count} finished runs and {checkpoint.Choices.Count} learning-rate choices kept.");
        WriteBudgets(Path.Combine(settings.OutputDirectory, "budgets.txt"), plans, model, console);

        IReadOnlyList<LearningRateChoice> choices = Array.Empty<LearningRateChoice>();
        string? validation = null;
        if (settings.LearningRatesFile is string reused)
        {
            choices = LearningRateSearch.FromCsv(reused);
            validation = $"the validation split of an earlier run ({Path.GetFileName(reused)})";
            var byMethod = choices.ToDictionary(c => c.Method);
            var missing = plans.FirstOrDefault(p => !byMethod.ContainsKey(p.Label));
            if (missing is not null)
                throw new ArgumentException($"'{reused}' has no learning rate for '{missing.Label}'; it has: {string.Join(", ", byMethod.Keys)}.");
            choices = plans.Select(p => byMethod[p.Label]).ToList();
            plans = plans.Select(p => p with { LearningRate = byMethod[p.Label].LearningRate }).ToList();
            AtomicFile.WriteAllText(Path.Combine(settings.OutputDirectory, LearningRateSearch.FileName), LearningRateSearch.ToCsv(choices));
            Say($"Learning rates from {reused}: {string.Join(", ", choices.Select(c => $"{c.Method} {LearningRateSearch.Format(c.LearningRate)}"))}.");
        }
        else if (settings.EffectiveLearningRateGrid.Count > 0)
        {
            (choices, validation) = ChooseLearningRates(settings, plans, console, train, model, device, progress, checkpoint.Choices);
            var byMethod = choices.ToDictionary(c => c.Method);
            plans = plans.Select(p => p with { LearningRate = byMethod[p.Label].LearningRate }).ToList();
        }

        var runs = checkpoint.Runs.ToList();
        string adapters = Path.Combine(settings.OutputDirectory, "adapters");
        for (int seed = settings.FirstSeed; seed < settings.FirstSeed + settings.Seeds; seed++)
        {
            foreach (var plan in plans.Where(p => !checkpoint.Finished(p.Label, seed)))
            {
                var result = progress.Track($"{plan.Label}, seed {seed}", settings.FineTune.Epochs,
                    report => FineTuneRun.Run(plan, seed, model, train, test, settings.FineTune, device, adapters, report));
                runs.Add(result);
                CsvResultsWriter.Write(Path.Combine(settings.OutputDirectory, CsvResultsWriter.FileName), runs); // after every run: an interrupted comparison keeps what it measured (--resume)
                console.MarkupLine($"  [green]{Markup.Escape(plan.Label)}[/] seed {seed}: {result.FinalTestAccuracy:P2} test accuracy, {result.TrainableParameters:N0} trainable, {result.SecondsPerEpoch:F1} s/epoch");
            }
        }

        WriteReport(runs, settings.OutputDirectory, settings.Describe(), console, settings.TableTitle, settings.ReportTitle,
            choices.Count > 0 ? LearningRateSearch.ToMarkdown(choices, validation!) : null);
        console.MarkupLine($"Also in [bold]{Markup.Escape(settings.OutputDirectory)}[/]: budgets.txt{(choices.Count > 0 ? ", learning_rates.csv" : "")} and adapters/.");
        return runs;
    }

    /// <summary>
    /// Trains every plan once (the first seed) at every rate of the grid on the training part of a validation split of
    /// <paramref name="train"/>; prints and writes (learning_rates.csv) the best rate per method, warning at the grid's edges.
    /// A plan with a choice in <paramref name="kept"/> (an earlier, resumed run's) keeps it and is not searched again;
    /// the choices returned are the kept ones and this run's.
    /// </summary>
    private static (IReadOnlyList<LearningRateChoice> Choices, string Validation) ChooseLearningRates(CompareSettings settings, IReadOnlyList<MethodPlan> plans,
        IAnsiConsole console, ImageDataset train, FineTuneModel model, Device device, RunProgress progress, IReadOnlyList<LearningRateChoice> kept)
    {
        var grid = settings.EffectiveLearningRateGrid;
        var pool = settings.SearchPerClass > 0 ? train.StratifiedSample(settings.SearchPerClass, DataSets.FashionMnistSplitSeed + 2) : train;
        var (fit, validation) = LearningRateSearch.Split(pool, DataSets.FashionMnistSplitSeed + 1);
        var schedule = settings.SearchEpochs is int epochs ? settings.FineTune with { Epochs = epochs } : settings.FineTune;
        string described = $"a validation split of {validation.Count:N0} training images (training on {fit.Count:N0} others for {schedule.Epochs} epochs)";
        console.MarkupLine($"[grey]Choosing each method's learning rate from {Markup.Escape(string.Join(", ", grid.Select(LearningRateSearch.Format)))} on {Markup.Escape(described)}, seed {settings.FirstSeed}.[/]");
        var keptByMethod = kept.ToDictionary(c => c.Method);
        var choices = kept.ToList(); // every choice the folder holds stays in learning_rates.csv, this run's plans or not
        foreach (var plan in plans)
        {
            if (keptByMethod.ContainsKey(plan.Label)) continue;
            var accuracies = new List<double>();
            foreach (double rate in grid)
            {
                double accuracy;
                try
                {
                    accuracy = progress.Track($"{plan.Label}, learning rate {LearningRateSearch.Format(rate)}", schedule.Epochs,
                        report => FineTuneRun.Run(plan with { LearningRate = rate }, settings.FirstSeed, model, fit, validation, schedule, device, null, report)).FinalTestAccuracy;
                }
                catch (Training.TrainingDivergedException)
                {
                    accuracy = double.NaN; // diverged at this rate
                }
                accuracies.Add(accuracy);
            }
            var choice = LearningRateSearch.Choose(plan.Label, grid, accuracies);
            choices.Add(choice);
            console.MarkupLine($"  [green]{Markup.Escape(plan.Label)}[/]: learning rate {LearningRateSearch.Format(choice.LearningRate)} ({choice.ValidationAccuracy:P1} validation accuracy)");
            if (choice.EdgeWarning is string warning) console.MarkupLine($"  [yellow]warning:[/] {Markup.Escape(warning)}");
            AtomicFile.WriteAllText(Path.Combine(settings.OutputDirectory, LearningRateSearch.FileName), LearningRateSearch.ToCsv(choices));
        }
        var planned = plans.Select(p => p.Label).ToHashSet();
        var table = new Table().AddColumns("Method", "Learning rate", "Validation accuracy", "At grid edge");
        foreach (var choice in choices.Where(c => planned.Contains(c.Method)))
            table.AddRow(Markup.Escape(choice.Method), LearningRateSearch.Format(choice.LearningRate), choice.ValidationAccuracy.ToString("P1", System.Globalization.CultureInfo.InvariantCulture), choice.AtGridEdge ? "[yellow]yes[/]" : "no");
        console.Write(table);
        return (choices, described);
    }

    /// <summary>Prints the results table and paired comparisons, and writes results.md, results.csv and the plots.</summary>
    /// <param name="appendix">Markdown sections that end results.md (the learning rates chosen), or null.</param>
    public static void WriteReport(IReadOnlyList<RunResult> runs, string directory, IEnumerable<KeyValuePair<string, string>> settings, IAnsiConsole console,
        string tableTitle, string reportTitle, string? appendix = null)
    {
        var summary = Summary.Compute(runs);
        var comparisons = PairedComparison.FloraAgainstBaselines(runs);
        ResultsTableWriter.Write(console, summary, comparisons, tableTitle);
        Directory.CreateDirectory(directory);
        CsvResultsWriter.Write(Path.Combine(directory, CsvResultsWriter.FileName), runs);
        var plots = Plots.WriteAll(summary, directory);
        MarkdownReport.Write(Path.Combine(directory, "results.md"), reportTitle, settings, summary, comparisons, plots, appendix);
        console.MarkupLine($"Wrote [bold]{Markup.Escape(directory)}[/]: results.md, results.csv, {string.Join(", ", plots.Select(p => Path.GetFileName(p.RelativePath)))}.");
        WriteCloseBudgets(Path.Combine(directory, CloseBudgetsFileName), BudgetTable.Rows(summary, comparisons), console);
    }

    /// <summary>The file listing the budgets whose FLoRA − LoRA/DoRA difference needs more seeds (<see cref="BudgetRow.NeedsMoreSeeds"/>), one name a line; absent when none does.</summary>
    public const string CloseBudgetsFileName = "needs_more_seeds.txt";

    private static void WriteCloseBudgets(string path, IReadOnlyList<BudgetRow> rows, IAnsiConsole console)
    {
        var close = rows.Where(r => r.NeedsMoreSeeds).Select(r => r.Flora.Budget!).Distinct().ToList();
        if (close.Count == 0)
        {
            File.Delete(path);
            return;
        }
        AtomicFile.WriteAllText(path, string.Concat(close.Select(b => b + "\n")));
        console.MarkupLine($"[yellow]Within two standard deviations of a baseline on fewer than {BudgetRow.SeedsWhenClose} seeds:[/] {Markup.Escape(string.Join(", ", close))} (listed in {CloseBudgetsFileName}; continue with --resume --seeds {BudgetRow.SeedsWhenClose}).");
    }

    /// <summary>The torch device for a name, with a clear error when CUDA is asked for and missing.</summary>
    public static Device DeviceFor(string name) => name.ToLowerInvariant() switch
    {
        "cpu" => CPU,
        "cuda" when cuda.is_available() => CUDA,
        "cuda" => throw new InvalidOperationException("--device cuda was given but CUDA is not available: build with -p:FloraBackend=cuda (TorchSharp-cuda-linux) on a machine with an NVIDIA GPU, or use --device cpu."),
        _ => throw new ArgumentException($"unknown device '{name}': use cpu or cuda"),
    };

    /// <summary>Writes (and prints) the adapter table of every method: the matched LoRA/DoRA ranks per layer, from an attach and detach on one copy of the model.</summary>
    private static void WriteBudgets(string path, IReadOnlyList<MethodPlan> plans, FineTuneModel baseModel, IAnsiConsole console)
    {
        var text = new System.Text.StringBuilder();
        using var model = baseModel.Create(CPU);
        foreach (var plan in plans.Where(p => p.Method is not null))
        {
            var attachment = baseModel.Attach(model, plan, plan.Method!.Value);
            text.AppendLine(plan.Label).AppendLine(attachment.ToString()).AppendLine();
            attachment.Detach();
        }
        AtomicFile.WriteAllText(path, text.ToString());
        console.MarkupLine($"[grey]Per-layer adapters and matched budgets: {Markup.Escape(path)}[/]");
    }
}
