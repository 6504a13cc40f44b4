using System.CommandLine;

namespace Flora.Bench;

/// <summary><c>Flora.Bench generator</c>: its options, for <see cref="GeneratorBenchmark.Run"/>.</summary>
internal static class GeneratorCommand
{
    public static Command Create()
    {
        var models = BenchOption.Positive("--models", "Model classes", 20);
        var targets = BenchOption.Positive("--targets", "[FloraTarget] members per model (200 targets by default)", 10);
        var iterations = BenchOption.Positive("--iterations", "Timed runs per scenario (after 5 warm-up runs)", 30);
        var noForward = new Option<bool>("--no-forward") { Description = "Models call no target with forward(x) (no interceptors): the baseline without interception" };
        var markdown = BenchOption.Markdown("Also write the table as markdown to PATH");
        var command = new Command("generator",
            "The source generator on one compilation of many annotated targets: cold (a new driver) and incrementally after a " +
            "one-line edit of a method body or of one target's Rank.")
        {
            models, targets, iterations, noForward, markdown,
        };
        command.SetAction(result => GeneratorBenchmark.Run(result.GetValue(models), result.GetValue(targets), result.GetValue(iterations),
            !result.GetValue(noForward), result.GetValue(markdown), BenchCommandLine.Display(BenchCommandLine.Arguments(result))));
        return command;
    }
}
