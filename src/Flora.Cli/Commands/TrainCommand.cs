using System;
using System.CommandLine;
using System.IO;
using Flora.Cli.Experiments;
using Flora.Comparison;
using Flora.Data;
using Flora.Reports;
using Spectre.Console;

namespace Flora.Cli.Commands;

/// <summary><c>flora train</c>: one method, one configuration, one seed; saves the adapter file.</summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var dataDir = CliOptions.CacheDirectory();
        var device = CliOptions.Device();
        var method = CliOptions.Choice("--method", "flora, lora, dora, bitfit, hadapter (Houlsby), padapter (Pfeiffer), adalora or full",
            "flora", "lora", "dora", "bitfit", "hadapter", "padapter", "adalora", "full");
        var rank = CliOptions.Positive("--rank", "FLoRA rank of the out and in modes (LoRA/DoRA are matched to its budget unless --lora-rank is given)", 4);
        var loraRank = CliOptions.OptionalPositive("--lora-rank", "LoRA/DoRA rank r of every target (default: matched to FLoRA's budget)");
        var loraAlpha = CliOptions.OptionalRate("--lora-alpha", "LoRA/DoRA alpha; the update is scaled by alpha/r (default: alpha = r)");
        var adapterSize = CliOptions.OptionalPositive("--adapter-size", "Bottleneck width of every HAdapter/PAdapter (default: matched to FLoRA's budget)");
        var adaLoraRank = CliOptions.OptionalPositive("--adalora-rank", "AdaLoRA's target rank (default: matched to FLoRA's budget; it starts at 1.5x)");
        var saveModules = new Option<string[]>("--save-modules")
        {
            Description = "Modules that train fully and are saved in the adapter file (PEFT's modules_to_save), by name or regex, e.g. head",
            AllowMultipleArgumentsPerToken = true,
            DefaultValueFactory = _ => Array.Empty<string>(),
        };
        var r3 = CliOptions.Positive("--r3", "FLoRA rank of every kernel axis", 1);
        var scale = CliOptions.OptionalRate("--scale", "FLoRA scale s (default 4)");
        var lr = CliOptions.OptionalRate("--lr", "Peak learning rate (default: the method's in the comparison)");
        var seed = CliOptions.Positive("--seed", "Seed of the adapters' initialisation and the shuffling", 1);
        var epochs = CliOptions.Positive("--epochs", "Fine-tuning epochs", 3);
        var model = CliOptions.Model();
        var dataset = CliOptions.Dataset();
        var resolution = CliOptions.Resolution();
        var output = new Option<string>("--out") { Description = "Adapter file to write", DefaultValueFactory = _ => "adapter.flora.safetensors" };
        var compute = new ComputeOptions();
        var optimizer = new OptimizerOptions();

        var command = new Command("train", "Fine-tune the base (or with --model resnet18 the ImageNet ResNet-18) on Fashion-MNIST (or MNIST digits) with one method and configuration, print the accuracy and save the adapter file.")
        {
            dataDir, device, method, rank, r3, scale, loraRank, loraAlpha, adapterSize, adaLoraRank, saveModules, lr, seed, epochs, output, model, dataset, resolution,
        };
        foreach (var option in compute.All) command.Options.Add(option);
        foreach (var option in optimizer.All) command.Options.Add(option);
        command.SetAction(result =>
        {
            var settings = new CompareSettings
            {
                CacheDirectory = result.GetValue(dataDir)!, Device = result.GetValue(device)!, Model = result.GetValue(model)!,
                Dataset = FineTuneDataset.Named(result.GetValue(dataset)!), Resolution = result.GetValue(resolution),
            };
            settings = compute.Apply(result, settings with { FineTune = optimizer.Apply(result, settings.FineTune with { Epochs = result.GetValue(epochs) }) });
            var defaults = settings.AdapterSettings(new FloraModelOptions
            {
                Rank = result.GetValue(rank), R3 = result.GetValue(r3), Scale = result.GetValue(scale) ?? 4,
                LoraRank = result.GetValue(loraRank), LoraAlpha = result.GetValue(loraAlpha), AdapterSize = result.GetValue(adapterSize),
                AdaLora = result.GetValue(adaLoraRank) is int target ? new AdaLoraOptions { TargetRank = target } : null,
                // the ResNet-18's BatchNorm layers train and are saved with the adapters, unless they stay frozen
                SaveNormLayers = settings.IsResNet18 && !settings.FineTune.FrozenBatchNorm,
            });
            var plan = PlanFor(result.GetValue(method)!, defaults) with { ModulesToSave = result.GetValue(saveModules)! };
            if (plan.Method is null && plan.ModulesToSave.Count > 0)
                throw new ArgumentException("--save-modules needs an adapter method: full fine-tuning trains every module already.");
            if (result.GetValue(lr) is double rate) plan = plan with { LearningRate = rate };

            var console = AnsiConsole.Console;
            var devices = CompareRunner.DeviceFor(settings.Device);
            var progress = new RunProgress(console);
            void Say(string m) => console.MarkupLine($"[grey]{Markup.Escape(m)}[/]");
            var (train, test, network) = ExperimentData.PrepareNetwork(settings, devices, progress, Say);
            using var disposeNetwork = network;
            string path = result.GetValue(output)!;
            string directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
            var run = progress.Track(plan.Label, settings.FineTune.Epochs,
                report => FineTuneRun.Run(plan, result.GetValue(seed), network, train, test, settings.FineTune, devices,
                    plan.Method is null ? null : directory, report, plan.Method is null ? null : Path.GetFileName(path)));
            console.MarkupLine($"{Markup.Escape(plan.Label)}: [bold]{run.FinalTestAccuracy:P2}[/] test accuracy with {run.TrainableParameters:N0} trainable parameters ({(double)run.TrainableParameters / run.TotalParameters:P2} of the model).");
            if (plan.Method is not null) console.MarkupLine($"Adapter: {Markup.Escape(Path.GetFullPath(path))}");
            return 0;
        });
        return command;
    }

    /// <summary>The plan of a method name at the given FLoRA budget, with the comparison's learning rate.</summary>
    public static MethodPlan PlanFor(string method, FloraModelOptions defaults) => method switch
    {
        "full" => new MethodPlan("Full fine-tuning", MethodKind.FullFineTuning, null, null, defaults, 1e-3),
        "bitfit" => new MethodPlan("BitFit", MethodKind.BitFit, null, FloraMethod.BitFit, defaults, 1e-2),
        "lora" => new MethodPlan("LoRA", MethodKind.Lora, "custom", FloraMethod.Lora, defaults, 5e-3),
        "dora" => new MethodPlan("DoRA", MethodKind.Dora, "custom", FloraMethod.Dora, defaults, 5e-3),
        "flora" => new MethodPlan("FLoRA", MethodKind.Flora, "custom", FloraMethod.Flora, defaults, 5e-3),
        "hadapter" => new MethodPlan("HAdapter", MethodKind.Houlsby, "custom", FloraMethod.Houlsby, defaults, 5e-3),
        "padapter" => new MethodPlan("PAdapter", MethodKind.Pfeiffer, "custom", FloraMethod.Pfeiffer, defaults, 5e-3),
        "adalora" => new MethodPlan("AdaLoRA", MethodKind.AdaLora, "custom", FloraMethod.AdaLora, defaults, 5e-3),
        _ => throw new ArgumentException($"unknown method '{method}': use flora, lora, dora, bitfit, hadapter, padapter, adalora or full"),
    };
}
