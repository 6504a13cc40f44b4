using System;
using System.CommandLine;
using System.IO;
using Flora.Cli.Experiments;
using Flora.Comparison;
using Spectre.Console;
using static TorchSharp.torch;

namespace Flora.Cli.Commands;

/// <summary>
/// <c>flora export-peft</c> and <c>flora import-peft</c>: an adapter of the main job's model as a Hugging Face PEFT
/// directory and back, on the pretrained base (TinyConvNeXt's layer names are the PEFT module names).
/// </summary>
internal static class PeftCommands
{
    public static Command Export()
    {
        var adapter = new Argument<string>("adapter") { Description = "An adapter file written by `flora train` or `flora compare`" };
        var directory = new Argument<string>("dir") { Description = "The PEFT directory to write (adapter_config.json and adapter_model.safetensors)" };
        var dataDir = CliOptions.CacheDirectory();
        var command = new Command("export-peft", "Write an adapter as a Hugging Face PEFT LoRA directory that PeftModel.from_pretrained loads (FLoRA as its exact LoRA; BitFit and depthwise-convolution targets are refused).")
        {
            adapter, directory, dataDir,
        };
        command.SetAction(result =>
        {
            using var model = LoadBase(result.GetValue(dataDir)!);
            var attachment = ExportPeft(model, CliOptions.ExistingFile(result.GetValue(adapter)!), result.GetValue(directory)!);
            AnsiConsole.MarkupLine($"Wrote {Markup.Escape(Path.GetFullPath(result.GetValue(directory)!))}: {attachment.Adapters.Count} {attachment.Method} adapters" +
                                   (attachment.Method == FloraMethod.Flora ? " as their exact LoRA" : "") + $", {attachment.ModulesToSave.Count} modules saved whole.");
            return 0;
        });
        return command;
    }

    public static Command Import()
    {
        var directory = new Argument<string>("dir") { Description = "A directory PEFT's save_pretrained wrote for a LoRA or DoRA adapter" };
        var output = new Option<string>("--out") { Description = "Where to write the Flora adapter file", Required = true };
        var dataDir = CliOptions.CacheDirectory();
        var command = new Command("import-peft", "Read a Hugging Face PEFT LoRA/DoRA directory onto the pretrained base and write it as a Flora adapter file (for eval, merge, inspect).")
        {
            directory, output, dataDir,
        };
        command.SetAction(result =>
        {
            using var model = LoadBase(result.GetValue(dataDir)!);
            var attachment = ImportPeft(model, result.GetValue(directory)!, result.GetValue(output)!);
            AnsiConsole.MarkupLine($"Wrote {Markup.Escape(Path.GetFullPath(result.GetValue(output)!))}: {attachment.Adapters.Count} {attachment.Method} adapters, " +
                                   $"{attachment.ModulesToSave.Count} modules saved whole, {attachment.TrainableParameters:N0} parameters.");
            return 0;
        });
        return command;
    }

    /// <summary>Attaches <paramref name="adapter"/> to <paramref name="model"/> and writes it as a PEFT directory.</summary>
    public static FloraAttachment ExportPeft(nn.Module model, string adapter, string directory)
    {
        var attachment = FloraInjector.AttachFromFile(model, adapter);
        try
        {
            attachment.SavePeft(directory);
        }
        finally
        {
            attachment.Detach();
        }
        return attachment;
    }

    /// <summary>
    /// Attaches the PEFT directory to <paramref name="model"/> and saves it as a Flora adapter file; what the importer warns
    /// about (fields PEFT itself does not know, initialisations PEFT does not re-run) goes to standard error.
    /// </summary>
    public static FloraAttachment ImportPeft(nn.Module model, string directory, string output)
    {
        var attachment = FloraInjector.AttachFromPeft(model, directory, new PeftImportOptions { OnWarning = message => Console.Error.WriteLine($"warning: {message}") });
        attachment.Save(output);
        return attachment;
    }

    private static TinyConvNeXt LoadBase(string cacheDirectory)
    {
        var settings = new CompareSettings { CacheDirectory = cacheDirectory };
        return BaseModelStore.Load(BaseModelStore.CachedPath(settings.CacheDirectory, settings.Pretrain), settings.Pretrain.Width, CPU);
    }

}
