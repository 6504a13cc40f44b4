using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Linq;
using System.Text.RegularExpressions;
using Flora.Cli.Experiments;
using Flora.Comparison;
using Spectre.Console;

namespace Flora.Cli.Commands;

/// <summary><c>flora compare</c> (the default): the paper's comparison at small scale on real data.</summary>
internal static class CompareCommand
{
    public static Command Create()
    {
        var dataDir = CliOptions.CacheDirectory();
        var output = new Option<string?>("--out") { Description = "Output directory (default runs/<timestamp>)" };
        var seeds = CliOptions.Positive("--seeds", "Seeds per method", 3);
        var firstSeed = CliOptions.Positive("--first-seed", "The first seed (to split a comparison over several runs: merge them with `flora report`)", 1);
        var device = CliOptions.Device();
        var full = new Option<bool>("--full") { Description = "All of MNIST and the whole 60k/10k split of the fine-tuning data, a wider network and 10 epochs (for a GPU)" };
        var epochs = CliOptions.OptionalPositive("--epochs", "Fine-tuning epochs (default 4, or 10 with --full)");
        var trainPerClass = CliOptions.OptionalPositive("--train-per-class", "Training images per class of the fine-tuning data, at most 6,000 (default 500; the smallest class's count or more: all)");
        var testPerClass = CliOptions.OptionalPositive("--test-per-class", "Test images per class of the fine-tuning data, at most 1,000 (default 300; the smallest class's count or more: all)");
        var width = CliOptions.OptionalPositive("--width", "Channels of the network's first stage (default 32, or 64 with --full)");
        var batch = CliOptions.OptionalPositive("--batch-size", "Fine-tuning batch size (default 64, or 256 with --full)");
        var model = CliOptions.Model();
        var dataset = CliOptions.Dataset();
        var resolution = CliOptions.Resolution();
        var lrGrid = CliOptions.LearningRateGrid();
        var searchPerClass = CliOptions.OptionalPositive("--search-per-class", "Training images per class the learning-rate search draws from (default: all)");
        var searchEpochs = CliOptions.OptionalPositive("--search-epochs", "Epochs of each learning-rate search run (default: --epochs)");
        var learningRates = new Option<string?>("--learning-rates") { Description = "Use the rates an earlier run chose (its learning_rates.csv) instead of searching: to split the seeds of one comparison over several runs" };
        var budgets = CliOptions.Budgets();
        var resume = new Option<bool>("--resume") { Description = "Continue the comparison in --out (interrupted, or to add seeds, budgets or methods): keep its learning-rate choices and finished runs, run only the rest" };
        var compute = new ComputeOptions();
        var optimizer = new OptimizerOptions();
        var methods = new Option<string[]>("--methods") { Description = "Only methods whose label contains one of these words, e.g. --methods flora lora; a whole label picks that method alone, e.g. --methods \"LoRA (budget A)\"; the paper's other baselines run only when named (hadapter, padapter, adalora) or with --methods all", AllowMultipleArgumentsPerToken = true };

        var command = new Command("compare", "Pretrain a small ConvNeXt on MNIST digits (or take the ImageNet ResNet-18 with --model resnet18), then fine-tune it on Fashion-MNIST (or with --dataset mnist the ResNet-18 on MNIST digits) with full fine-tuning, BitFit, and LoRA, DoRA and FLoRA at two matched budgets (or a sweep of them: --budgets), over several seeds; write results.md, results.csv, plots and adapters.")
        {
            dataDir, output, seeds, firstSeed, device, full, epochs, trainPerClass, testPerClass, width, batch, methods, model, dataset, resolution, lrGrid, searchPerClass, searchEpochs, learningRates, budgets, resume,
        };
        foreach (var option in compute.All) command.Options.Add(option);
        foreach (var option in optimizer.All) command.Options.Add(option);
        command.SetAction(result =>
        {
            var settings = new CompareSettings
            {
                CacheDirectory = result.GetValue(dataDir)!, Seeds = result.GetValue(seeds), FirstSeed = result.GetValue(firstSeed), Device = result.GetValue(device)!,
                Model = result.GetValue(model)!, Dataset = FineTuneDataset.Named(result.GetValue(dataset)!), Resolution = result.GetValue(resolution), LearningRateGrid = result.GetValue(lrGrid) ?? Array.Empty<double>(),
            };
            if (result.GetValue(full)) settings = settings.Full();
            if (result.GetValue(output) is string outDir) settings = settings with { OutputDirectory = outDir };
            if (result.GetValue(epochs) is int e) settings = settings with { FineTune = settings.FineTune with { Epochs = e } };
            if (result.GetValue(batch) is int b) settings = settings with { FineTune = settings.FineTune with { BatchSize = b } };
            if (result.GetValue(trainPerClass) is int tr) settings = settings with { TrainPerClass = Math.Min(tr, 6000) };
            if (result.GetValue(testPerClass) is int te) settings = settings with { TestPerClass = Math.Min(te, 1000) };
            if (result.GetValue(searchPerClass) is int sp) settings = settings with { SearchPerClass = Math.Min(sp, 6000) };
            if (result.GetValue(searchEpochs) is int se) settings = settings with { SearchEpochs = se };
            if (result.GetValue(learningRates) is string ratesFile) settings = settings with { LearningRatesFile = ratesFile };
            if (result.GetValue(budgets) is { Length: > 0 } sweep) settings = settings with { Budgets = sweep.Select(FloraBudget.Parse).ToArray() };
            if (result.GetValue(resume)) settings = settings with { Resume = true };
            if (result.GetValue(width) is int w) settings = settings with { Pretrain = settings.Pretrain with { Width = w } };
            settings = compute.Apply(result, settings);
            settings = settings with { FineTune = optimizer.Apply(result, settings.FineTune) };
            var filter = result.GetValue(methods) ?? Array.Empty<string>();
            var plans = Select(settings.Plans(), filter);
            if (plans.Count == 0)
                throw new ArgumentException($"--methods {string.Join(" ", filter)} matches no method; the methods are: {string.Join(", ", settings.Plans().Select(p => p.Label))}.");

            var console = AnsiConsole.Console;
            console.Write(new Rule("[bold]flora compare[/]").LeftJustified());
            foreach (var (key, value) in settings.Describe()) console.MarkupLine($"[grey]{Markup.Escape(key)}:[/] {Markup.Escape(value)}");
            CompareRunner.Run(settings with { MethodFilter = filter }, plans, console);
            return 0;
        });
        return command;
    }

    /// <summary>
    /// The plans <paramref name="filter"/> selects: all when empty; a filter that is a whole label (any case) selects that
    /// plan alone ("LoRA (budget A)" is part of "FLoRA (budget A)"'s label, but picks only LoRA); any other selects every
    /// plan whose label contains it.
    /// </summary>
    internal static List<MethodPlan> Select(IReadOnlyList<MethodPlan> plans, IReadOnlyList<string> filter) =>
        plans.Where(p => filter.Count == 0 ? !p.IsOptIn : filter.Any(f => Selects(f, p, plans))).ToList();

    /// <summary>
    /// Whether the filter word <paramref name="word"/> selects <paramref name="plan"/>: <c>all</c> selects every method, a
    /// whole label that one method has selects that method alone, else the label must contain the word as a word
    /// (case-insensitive; "lora" selects "LoRA (budget A)", not "AdaLoRA (budget A)").
    /// </summary>
    private static bool Selects(string word, MethodPlan plan, IReadOnlyList<MethodPlan> plans)
    {
        if (word.Equals(AllMethods, StringComparison.OrdinalIgnoreCase)) return true;
        if (plans.Any(q => q.Label.Equals(word, StringComparison.OrdinalIgnoreCase))) return plan.Label.Equals(word, StringComparison.OrdinalIgnoreCase);
        return Regex.IsMatch(plan.Label, $@"(?<!\w){Regex.Escape(word)}(?!\w)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
    }

    /// <summary>The <c>--methods</c> word that selects every method, the opt-in paper baselines included.</summary>
    internal const string AllMethods = "all";
}
