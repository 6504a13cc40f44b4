using System;
using Flora.Cli.Training;
using Spectre.Console;

namespace Flora.Cli.Experiments;

/// <summary>
/// Shows a run's progress: live bars on an interactive terminal, one line per epoch otherwise (CI logs, pipes).
/// </summary>
internal sealed class RunProgress
{
    private readonly IAnsiConsole _console;
    private readonly bool _interactive;

    /// <summary>Reports to <paramref name="console"/>.</summary>
    public RunProgress(IAnsiConsole console)
    {
        _console = console;
        _interactive = console.Profile.Capabilities.Interactive && !Console.IsOutputRedirected;
    }

    /// <summary>Runs <paramref name="work"/> under a progress display titled <paramref name="title"/>.</summary>
    public T Track<T>(string title, int epochs, Func<Action<TrainProgress>, T> work)
    {
        if (!_interactive)
        {
            _console.MarkupLine($"[grey]…[/] {Markup.Escape(title)}");
            int lastEpoch = 0;
            return work(p =>
            {
                if (p.Step != p.StepsPerEpoch || p.Epoch == lastEpoch) return;
                lastEpoch = p.Epoch;
                _console.MarkupLine($"  epoch {p.Epoch}/{epochs}: last loss {p.Loss:F3}");
            });
        }
        T result = default!;
        _console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask(Markup.Escape(title), maxValue: 1);
                result = work(p =>
                {
                    task.MaxValue = (double)epochs * p.StepsPerEpoch;
                    task.Value = (double)(p.Epoch - 1) * p.StepsPerEpoch + p.Step;
                    task.Description = $"{Markup.Escape(title)} [grey]epoch {p.Epoch}/{epochs} loss {p.Loss:F3}[/]";
                });
                task.Value = task.MaxValue;
            });
        return result;
    }
}
