using System;
using System.CommandLine;
using System.IO;
using Flora.Cli.Commands;
using Flora.Data;
using Spectre.Console;

namespace Flora.Cli;

/// <summary>The `flora` command line: fine-tuning runs on real data, reports, plots and adapter files.</summary>
internal static class Program
{
    /// <summary>Runs the command line; <c>flora</c> with no command (or only options) runs <c>flora compare</c>.</summary>
    public static int Main(string[] args)
    {
        var root = BuildRoot();
        if (args.Length == 0 || (args[0].StartsWith('-') && args[0] is not ("--help" or "-h" or "-?" or "--version")))
            args = ["compare", .. args];
        try
        {
            return root.Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (IsUserError(e))
        {
            AnsiConsole.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
            return 1;
        }
    }

    /// <summary>
    /// Errors whose message tells the user what to fix (bad data, arguments or files, a missing or damaged pretrained
    /// network): printed as one line with exit code 1. Anything else is a bug and keeps its stack trace.
    /// </summary>
    internal static bool IsUserError(Exception e) =>
        e is DataException or ArgumentException or InvalidOperationException or IOException or Flora.Pretrained.PretrainedModelException;

    /// <summary>The root command with every subcommand (tests parse against it).</summary>
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("flora: parameter-efficient fine-tuning of TorchSharp models with FLoRA, compared with LoRA, DoRA, BitFit and full fine-tuning on real data. Without a command it runs `compare`.")
        {
            CompareCommand.Create(),
            PretrainCommand.Create(),
            TrainCommand.Create(),
            AdapterCommands.Eval(),
            AdapterCommands.Merge(),
            AdapterCommands.Inspect(),
            PeftCommands.Export(),
            PeftCommands.Import(),
            ReportCommand.Create(),
            ExampleCommand.Create(),
        };
        return root;
    }
}
