using System.CommandLine;
using System.IO;
using Flora.Cli.Data;
using Flora.Cli.Experiments;
using Spectre.Console;

namespace Flora.Cli.Commands;

/// <summary><c>flora pretrain</c>: pretrain the base on MNIST digits and cache it (what compare does first).</summary>
internal static class PretrainCommand
{
    public static Command Create()
    {
        var dataDir = CliOptions.CacheDirectory();
        var device = CliOptions.Device();
        var full = new Option<bool>("--full") { Description = "The base `compare --full` uses: width 64, all 60,000 digits, 4 epochs" };
        var width = CliOptions.OptionalPositive("--width", "Channels of the network's first stage (default 32, or 64 with --full)");
        var command = new Command("pretrain", "Pretrain the base network on MNIST digits and cache it in --data-dir (compare and train reuse it).")
        {
            dataDir, device, full, width,
        };
        command.SetAction(result =>
        {
            var settings = new CompareSettings { CacheDirectory = result.GetValue(dataDir)!, Device = result.GetValue(device)! };
            if (result.GetValue(full)) settings = settings.Full();
            if (result.GetValue(width) is int w) settings = settings with { Pretrain = settings.Pretrain with { Width = w } };
            var console = AnsiConsole.Console;
            void Say(string message) => console.MarkupLine($"[grey]{Markup.Escape(message)}[/]");
            var torchDevice = CompareRunner.DeviceFor(settings.Device);
            string path = BaseModelStore.PathFor(settings.CacheDirectory, settings.Pretrain);
            if (File.Exists(path))
            {
                console.MarkupLine($"The base is already cached: {Markup.Escape(path)}");
                return 0;
            }
            var (train, test) = DataSets.LoadMnist(settings.CacheDirectory, new SyncProgress(Say));
            new RunProgress(console).Track("pretraining the base on MNIST", settings.Pretrain.Train.Epochs,
                report => BaseModelStore.Ensure(settings.CacheDirectory, settings.Pretrain, train, test, torchDevice, Say, report));
            console.MarkupLine($"Cached {Markup.Escape(path)}");
            return 0;
        });
        return command;
    }
}
