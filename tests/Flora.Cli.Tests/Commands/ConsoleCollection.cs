namespace Flora.Cli.Tests.Commands;

/// <summary>Tests that redirect <see cref="Console.Out"/> (a process-wide setting) run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConsoleCollection
{
    public const string Name = "console";
}
