using System;
using System.CommandLine;

namespace Flora.Bench;

/// <summary>
/// An option whose values are names (<c>--device cpu|cuda</c>), read with <see cref="Get"/>. The help shows the default
/// by its name (System.CommandLine would show the enum member, <c>CPU</c> for <c>cpu</c>).
/// </summary>
internal sealed class NamedOption<T> where T : struct
{
    private readonly T _default;

    /// <summary>The option <paramref name="name"/>; <paramref name="parse"/> turns a name into its value (it throws <see cref="UsageException"/> on an unknown one).</summary>
    public NamedOption(string name, string description, string helpName, Func<string, T> parse, string defaultName)
    {
        _default = parse(defaultName);
        Option = BenchOption.Of<T?>(name, $"{description} [default: {defaultName}]", helpName, value => parse(value));
    }

    /// <summary>The option to add to a command.</summary>
    public Option<T?> Option { get; }

    /// <summary>The value given, or the default.</summary>
    public T Get(ParseResult result) => result.GetValue(Option) ?? _default;
}
