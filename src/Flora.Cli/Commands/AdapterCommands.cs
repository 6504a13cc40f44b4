using System;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using System.Linq;
using Flora.Cli.Experiments;
using Flora.Cli.Training;
using Flora.Data;
using Flora.Reports;
using Spectre.Console;
using static TorchSharp.torch;

namespace Flora.Cli.Commands;

/// <summary><c>flora eval</c>, <c>flora merge</c> and <c>flora inspect</c>: what to do with an adapter file.</summary>
internal static class AdapterCommands
{
    public static Command Eval()
    {
        var adapter = new Argument<string>("adapter") { Description = "An adapter file written by `flora train` or `flora compare`, or a directory of adapters (Flora files or PEFT's layout)" };
        var name = CliOptions.AdapterName();
        var dataDir = CliOptions.CacheDirectory();
        var device = CliOptions.Device();
        var model = CliOptions.Model();
        var dataset = CliOptions.Dataset();
        var resolution = CliOptions.Resolution();
        var command = new Command("eval", "Load an adapter onto the base (the MNIST-pretrained TinyConvNeXt, or with --model resnet18 the ImageNet ResNet-18) and report its accuracy on the 10,000 test images of the fine-tuning data (--dataset).")
        {
            adapter, name, dataDir, device, model, dataset, resolution,
        };
        command.SetAction(result =>
        {
            var console = AnsiConsole.Console;
            var settings = new CompareSettings
            {
                CacheDirectory = result.GetValue(dataDir)!, Device = result.GetValue(device)!, TestPerClass = DataSets.FashionMnistTestPerClass,
                Model = result.GetValue(model)!, Dataset = FineTuneDataset.Named(result.GetValue(dataset)!), Resolution = result.GetValue(resolution),
            };
            var torchDevice = CompareRunner.DeviceFor(settings.Device);
            string path = result.GetValue(adapter)!;
            void Say(string message) => console.MarkupLine($"[grey]{Markup.Escape(message)}[/]");
            var (_, test, network) = ExperimentData.PrepareNetwork(settings, torchDevice, new RunProgress(console), Say);
            using (network)
            using (var fresh = network.Create(torchDevice))
            {
                double before = Trainer.Evaluate(fresh, test, network.Input, 256, torchDevice);
                var (attachment, adapterName) = AdapterSources.Attach(fresh, path, result.GetValue(name));
                double after = Trainer.Evaluate(fresh, test, network.Input, 256, torchDevice);
                string baseline = settings.IsResNet18 ? "the network with its untrained head" : "base model";
                string named = adapterName is null ? "" : $"'{Markup.Escape(adapterName)}', ";
                console.MarkupLine($"{named}{attachment.Method} adapter, {attachment.TrainableParameters:N0} parameters: [bold]{after:P2}[/] on {test.Count:N0} {Markup.Escape(settings.Dataset.DisplayName)} test images ({baseline}: {before:P2}).");
            }
            return 0;
        });
        return command;
    }

    public static Command Merge()
    {
        var adapter = new Argument<string>("adapter") { Description = "An adapter file, or a directory of adapters (Flora files or PEFT's layout)" };
        var name = CliOptions.AdapterName();
        var output = new Option<string>("--out") { Description = "Where to write the merged model (a safetensors state dict)", DefaultValueFactory = _ => "merged.safetensors" };
        var dataDir = CliOptions.CacheDirectory();
        var model = CliOptions.Model();
        var command = new Command("merge", "Merge an adapter into its base (the MNIST-pretrained TinyConvNeXt, or with --model resnet18 the ImageNet ResNet-18) and write the result as a plain model (no adapter tensors, the base's own keys; modules saved with the adapter hold their trained values).")
        {
            adapter, name, output, dataDir, model,
        };
        command.SetAction(result =>
        {
            var settings = new CompareSettings { CacheDirectory = result.GetValue(dataDir)!, Model = result.GetValue(model)! };
            string adapterPath = result.GetValue(adapter)!;
            using var network = settings.IsResNet18 ? (FineTuneModel)new ResNet18Model(settings.Resolution) : new TinyConvNeXtModel(BaseModelStore.CachedPath(settings.CacheDirectory, settings.Pretrain), settings.Pretrain.Width);
            using var merged = network.Create(CPU);
            var (attachment, adapterName) = AdapterSources.Attach(merged, adapterPath, result.GetValue(name));
            var method = attachment.Method;
            attachment.MergeAndDetach();
            string path = result.GetValue(output)!;
            var state = merged.state_dict();
            string from = Path.GetFileName(Path.TrimEndingDirectorySeparator(adapterPath)) + (adapterName is null ? "" : $" ({adapterName})");
            Safetensors.Save(path, state, new Dictionary<string, string> { ["merged_from"] = from, ["method"] = method.ToString(), ["model"] = settings.Model });
            AnsiConsole.MarkupLine($"Wrote {Markup.Escape(Path.GetFullPath(path))}: {Markup.Escape(network.Description)} with the {method} update merged ({state.Count} tensors).");
            return 0;
        });
        return command;
    }

    public static Command Inspect()
    {
        var adapter = new Argument<string>("adapter") { Description = "An adapter file, or a directory of adapters" };
        var command = new Command("inspect", "Print an adapter file's configuration and tensors, or list the adapters of a directory (their names for --adapter).") { adapter };
        command.SetAction(result =>
        {
            string path = result.GetValue(adapter)!;
            if (Directory.Exists(path)) InspectDirectory(AnsiConsole.Console, path);
            else Inspect(AnsiConsole.Console, CliOptions.ExistingFile(path));
            return 0;
        });
        return command;
    }

    /// <summary>Lists the adapters of <paramref name="directory"/> (<see cref="AdapterSources"/>) with their names for <c>--adapter</c>.</summary>
    public static void InspectDirectory(IAnsiConsole console, string directory)
    {
        var entries = AdapterSources.List(directory);
        console.MarkupLine($"[bold]{Markup.Escape(directory)}[/]: {entries.Count} adapter{(entries.Count == 1 ? "" : "s")} (pick one with --adapter NAME)");
        var table = new Table().AddColumns("name", "format", "method", "path");
        foreach (var e in entries)
            table.AddRow(Markup.Escape(e.Name), e.Format, Markup.Escape(e.Method), Markup.Escape(Path.GetRelativePath(directory, e.Path)));
        if (entries.Count > 0) console.Write(table);
    }

    /// <summary>Writes an adapter file's configuration, its modules saved whole and its tensors to <paramref name="console"/>.</summary>
    public static void Inspect(IAnsiConsole console, string path)
    {
        var config = AdapterFile.ReadConfig(path);
        console.MarkupLine($"[bold]{Markup.Escape(path)}[/]: {Markup.Escape(config.Method)} adapters, format {config.Format}, written by Flora {Markup.Escape(config.LibraryVersion)}");
        var targets = new Table().AddColumns("layer", "type", "weight shape", "ranks", "scale", "LoRA α");
        foreach (var t in config.Targets)
        {
            string alpha = t.LoraAlpha is double a ? a.ToString("G4") + (t.UseRsLora ? " (rsLoRA)" : "") : "";
            targets.AddRow(Markup.Escape(t.Name), Markup.Escape(t.Layer), Markup.Escape($"[{string.Join(", ", t.WeightShape)}]"), $"({string.Join(", ", t.Ranks)})", t.Scale.ToString("G4"), alpha);
        }
        if (config.Targets.Count > 0) console.Write(targets);
        if (config.ModulesToSave.Count > 0)
        {
            console.MarkupLine($"Modules saved whole ({config.ModulesToSave.Count}):");
            var saved = new Table().AddColumns("module", "type", "tensors");
            foreach (var m in config.ModulesToSave)
                saved.AddRow(Markup.Escape(m.Name), Markup.Escape(m.Module), Markup.Escape(string.Join(", ", m.Tensors)));
            console.Write(saved);
        }
        using var content = Safetensors.Load(path);
        var tensors = new Table().AddColumns("tensor", "dtype", "shape").AddColumn(new TableColumn("elements").RightAligned()).AddColumn(new TableColumn("mean |x|").RightAligned());
        foreach (var (key, tensor) in content.Tensors.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            using var absolute = tensor.to(ScalarType.Float64).abs().mean();
            tensors.AddRow(Markup.Escape(key), tensor.dtype.ToString(), Markup.Escape($"[{string.Join(", ", tensor.shape)}]"), tensor.numel().ToString("N0"), absolute.item<double>().ToString("G4"));
        }
        console.Write(tensors);
        console.MarkupLine($"{content.Tensors.Count} tensors, {content.Tensors.Values.Sum(t => t.numel()):N0} parameters.");
    }

}
