using System.IO;
using Spectre.Console;

namespace Flora.Cli.Tests.Commands;

/// <summary>
/// Tests that redirect the process's <see cref="Console.Out"/> (to read what <c>Program.Main</c> prints) run one at a
/// time: the redirection is global, so two of them in parallel read each other's (or no) output.
/// </summary>
[CollectionDefinition(Name)]
public sealed class ConsoleOutputCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Console output";

    /// <summary>
    /// Runs <c>Program.Main(args)</c> and returns its exit code and everything it printed. Both <see cref="Console.Out"/>
    /// and Spectre's <see cref="AnsiConsole.Console"/> are redirected: the latter keeps the writer it was first created
    /// with, so redirecting <see cref="Console.Out"/> alone only works for the first test that prints.
    /// </summary>
    internal static (int ExitCode, string Output) RunMain(params string[] args)
    {
        var writer = new StringWriter();
        var previousOut = Console.Out;
        var previousConsole = AnsiConsole.Console;
        Console.SetOut(writer);
        AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(writer) });
        try
        {
            int exitCode = Program.Main(args);
            return (exitCode, writer.ToString());
        }
        finally
        {
            Console.SetOut(previousOut);
            AnsiConsole.Console = previousConsole;
        }
    }
}
