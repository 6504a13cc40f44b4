using System.CommandLine;
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
            string path = ExperimentData.EnsureBase(settings, torchDevice, new RunProgress(console), Say);
            console.MarkupLine($"Base model: {Markup.Escape(path)}");
            return 0;
        });
        return command;
    }
}
