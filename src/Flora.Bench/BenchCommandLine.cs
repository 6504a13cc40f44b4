using System.Collections.Generic;
using System.CommandLine;
using System.Linq;

namespace Flora.Bench;

/// <summary>The benchmark's command line (System.CommandLine): <c>Flora.Bench layers|model|resnet|generator [options]</c>.</summary>
internal static class BenchCommandLine
{
    /// <summary>How the benchmark is started from the repository root; the reports quote it with the arguments.</summary>
    public const string Launch = "dotnet run -c Release --project src/Flora.Bench --";

    /// <summary>The root command with every benchmark.</summary>
    public static RootCommand Create() => new("Flora.Bench: times training steps of FLoRA, LoRA and DoRA adapters against their frozen base, " +
                                              "per layer or for the whole model, a ResNet-18 step, and the source generator.")
    {
        StepCommands.Layers(),
        StepCommands.Model(),
        ResNet.ResNetCommand.Create(),
        GeneratorCommand.Create(),
    };

    /// <summary>The arguments of <paramref name="result"/>, command name first (what the memory pass's child process is given again).</summary>
    public static IReadOnlyList<string> Arguments(ParseResult result) => result.Tokens.Select(t => t.Value).ToArray();

    /// <summary><paramref name="arguments"/> after <see cref="Launch"/>, quoted for a POSIX shell where needed.</summary>
    public static string Display(IEnumerable<string> arguments) => Launch + " " + string.Join(" ", arguments.Select(Quote));

    private static string Quote(string arg) =>
        arg.Length > 0 && arg.All(c => char.IsLetterOrDigit(c) || "-_./=:,+@%".Contains(c)) ? arg : "'" + arg.Replace("'", "'\\''") + "'";
}
