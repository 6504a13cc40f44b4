using System.CommandLine;
using System.IO;
using System.Linq;
using Flora.Cli.Examples;
using Flora.Cli.Experiments;
using Spectre.Console;

namespace Flora.Cli.Commands;

/// <summary>
/// <c>flora example unet</c> and <c>flora example attention</c>: a model with transposed convolutions, or with an
/// Embedding and a MultiheadAttention, pretrained on MNIST and adapted to Fashion-MNIST with FLoRA and with LoRA at
/// FLoRA's budget, in about a minute on 2 CPU cores.
/// </summary>
internal static class ExampleCommand
{
    public static Command Create()
    {
        var command = new Command("example", "Small runnable examples: a U-Net with transposed convolutions (unet) and a transformer with an Embedding and a MultiheadAttention (attention), each pretrained on MNIST and adapted to Fashion-MNIST with FLoRA and LoRA.");
        command.Subcommands.Add(Create(new DenoisingExample()));
        command.Subcommands.Add(Create(new AttentionExample()));
        return command;
    }

    private static Command Create(ExampleTask task)
    {
        var defaults = new ExampleSettings();
        var dataDir = CliOptions.CacheDirectory();
        var trainPerClass = CliOptions.Positive("--train-per-class", "Training images per class, of MNIST and of Fashion-MNIST", defaults.TrainPerClass);
        var testPerClass = CliOptions.Positive("--test-per-class", "Test images per class of each", defaults.TestPerClass);
        var epochs = CliOptions.Positive("--epochs", "Epochs of pretraining, and of training each method's adapters", defaults.Epochs);
        var seed = CliOptions.Positive("--seed", "Seed of the weights, the samples, the shuffling and the noise", defaults.Seed);
        var output = new Option<string>("--out") { Description = "Where to write the base network and the adapter files", DefaultValueFactory = _ => "examples" };
        var command = new Command(task.Name, $"Run {task.Description}, with FLoRA and with LoRA at FLoRA's budget; print the {task.MetricName} before and after, save the adapters.")
        {
            dataDir, trainPerClass, testPerClass, epochs, seed, output,
        };
        command.SetAction(result =>
        {
            var settings = defaults with
            {
                TrainPerClass = result.GetValue(trainPerClass),
                TestPerClass = result.GetValue(testPerClass),
                Epochs = result.GetValue(epochs),
                Seed = result.GetValue(seed),
            };
            var console = AnsiConsole.Console;
            var data = ExampleData.Load(result.GetValue(dataDir), settings, new SyncProgress(m => console.MarkupLine($"[grey]{Markup.Escape(m)}[/]")));
            var report = ExampleRunner.Run(task, data, settings, result.GetValue(output)!, new RunProgress(console));
            Print(console, task, data, report);
            return 0;
        });
        return command;
    }

    /// <summary>The report: the base on both tasks, then each method's parameters, training loss and target metric.</summary>
    internal static void Print(IAnsiConsole console, ExampleTask task, ExampleData data, ExampleReport report)
    {
        string better = task.LowerIsBetter ? "lower is better" : "higher is better";
        var table = new Table().Title($"flora example {task.Name}: {task.MetricName} on {data.TargetTest.Count:N0} Fashion-MNIST images ({better})")
            .AddColumn("model").AddColumn(new TableColumn("trainable").RightAligned()).AddColumn("training loss, first → last epoch")
            .AddColumn(new TableColumn(task.MetricName).RightAligned());
        table.AddRow("pretrained on MNIST, no adapter", report.BaseParameters.ToString("N0"), Losses(report.PretrainLossPerEpoch.ToArray()) + " (MNIST)", task.Format(report.TargetMetricBefore));
        foreach (var run in report.Runs)
        {
            string label = run.Method == FloraMethod.Flora ? "FLoRA" : "LoRA at FLoRA's budget";
            table.AddRow(label, run.TrainableParameters.ToString("N0"), Losses(run.TrainLossPerEpoch.ToArray()), task.Format(run.Metric));
        }
        console.Write(table);
        console.MarkupLine($"The pretrained network's {Markup.Escape(task.MetricName)} on {data.SourceTest.Count:N0} MNIST test images: {task.Format(report.SourceMetric)}.");
        console.MarkupLine($"Base: {Markup.Escape(Path.GetFullPath(report.BasePath))}");
        foreach (var run in report.Runs)
            console.MarkupLine($"{ExampleRunner.Label(run.Method)} adapter: {Markup.Escape(Path.GetFullPath(run.AdapterPath))}");
    }

    private static string Losses(double[] perEpoch) => $"{perEpoch[0]:F4} → {perEpoch[^1]:F4}";
}
