using System;
using System.Collections.Generic;
using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Linq;
using TorchSharp;

namespace Flora.Bench;

/// <summary>
/// The kinds of option the benchmark's commands take (System.CommandLine): each reads one token, converts it and
/// reports a bad one as a parse error in the words of <see cref="UsageException"/>; the help shows <c>HelpName</c>.
/// </summary>
internal static class BenchOption
{
    /// <summary>An option of exactly one token that <paramref name="parse"/> converts (it throws <see cref="UsageException"/> on a bad token).</summary>
    public static Option<T> Of<T>(string name, string description, string helpName, Func<string, T> parse, Func<T>? defaultValue = null)
    {
        var option = new Option<T>(name)
        {
            Description = description,
            HelpName = helpName,
            Arity = ArgumentArity.ExactlyOne,
            CustomParser = result => Convert(result, parse),
        };
        if (defaultValue is not null)
            option.DefaultValueFactory = _ => defaultValue();
        return option;
    }

    private static T Convert<T>(ArgumentResult result, Func<string, T> parse)
    {
        try
        {
            return parse(result.Tokens.Count > 0 ? result.Tokens[^1].Value : "");
        }
        catch (UsageException e)
        {
            result.AddError(e.Message);
            return default!;
        }
    }

    /// <summary><c>--device cpu|cuda</c> (default cpu).</summary>
    public static NamedOption<DeviceType> Device(string description) => new("--device", description, "cpu|cuda", value => value switch
    {
        "cpu" => DeviceType.CPU,
        "cuda" => DeviceType.CUDA,
        _ => throw new UsageException($"unknown device '{value}'. Use cpu or cuda."),
    }, "cpu");

    /// <summary><c>--dtype float32|bfloat16</c> (also fp32, bf16; default float32).</summary>
    public static NamedOption<torch.ScalarType> DType(string description) => new("--dtype", description, "float32|bfloat16", value => value switch
    {
        "float32" or "fp32" => torch.ScalarType.Float32,
        "bfloat16" or "bf16" => torch.ScalarType.BFloat16,
        _ => throw new UsageException($"unknown dtype '{value}'. Use float32 or bfloat16."),
    }, "float32");

    /// <summary>A forward path: auto (the default), factorised, materialised or fused (also their American spellings and short forms).</summary>
    public static NamedOption<FloraForwardPath> ForwardPath(string name, string description) =>
        new(name, description, "auto|factorised|materialised|fused", value => value.ToLowerInvariant() switch
        {
            "auto" => FloraForwardPath.Auto,
            "factorised" or "factorized" or "fact" => FloraForwardPath.Factorised,
            "materialised" or "materialized" or "mat" => FloraForwardPath.Materialised,
            "fused" => FloraForwardPath.Fused,
            _ => throw new UsageException($"unknown forward path '{value}'. Use auto, factorised, materialised or fused."),
        }, "auto");

    /// <summary>A whole number of at least 1, <paramref name="defaultValue"/> when not given.</summary>
    public static Option<int> Positive(string name, string description, int defaultValue) =>
        Of(name, description, "N", value => WholeNumber(name, value, 1), () => defaultValue);

    /// <summary>A whole number of at least 1, null when not given (the command chooses the default).</summary>
    public static Option<int?> OptionalPositive(string name, string description) =>
        Of<int?>(name, description, "N", value => WholeNumber(name, value, 1));

    /// <summary>A whole number of at least 0, null when not given (the command chooses the default).</summary>
    public static Option<int?> OptionalNonNegative(string name, string description) =>
        Of<int?>(name, description, "N", value => WholeNumber(name, value, 0));

    /// <summary>A finite number greater than 0.</summary>
    public static Option<double> PositiveNumber(string name, string description, double defaultValue) => Of(name, description, "X", value =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) && double.IsFinite(x) && x > 0
            ? x
            : throw new UsageException($"option '{name}' needs a positive number, got '{value}'."), () => defaultValue);

    /// <summary>Any 64-bit integer.</summary>
    public static Option<long> Integer(string name, string description, long defaultValue) => Of(name, description, "N", value =>
        long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out long n)
            ? n
            : throw new UsageException($"option '{name}' needs an integer, got '{value}'."), () => defaultValue);

    /// <summary><c>--markdown PATH</c>: also write the results as markdown there.</summary>
    public static Option<string?> Markdown(string description) => new("--markdown") { Description = description, HelpName = "PATH" };

    /// <summary>
    /// A comma-separated list of <paramref name="known"/> names (any case), returned in <paramref name="known"/>'s order
    /// without repeats; <paramref name="alias"/> maps other accepted spellings to a known name. Null when not given.
    /// </summary>
    public static Option<IReadOnlyList<string>?> Names(string name, string description, IReadOnlyList<string> known, Func<string, string?>? alias = null) =>
        Of<IReadOnlyList<string>?>(name, description, "LIST", value =>
        {
            var chosen = new HashSet<string>(StringComparer.Ordinal);
            foreach (string item in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                string key = item.ToLowerInvariant();
                key = known.Contains(key) ? key : alias?.Invoke(key)
                    ?? throw new UsageException($"unknown name '{item}' in '{name}'. Use a comma-separated list of {string.Join(", ", known)}.");
                chosen.Add(key);
            }
            if (chosen.Count == 0)
                throw new UsageException($"option '{name}' needs at least one of {string.Join(", ", known)}.");
            return known.Where(chosen.Contains).ToArray();
        });

    /// <summary>A comma-separated list of whole numbers of at least 1, in the given order; null when not given.</summary>
    public static Option<IReadOnlyList<int>?> PositiveList(string name, string description) =>
        Of<IReadOnlyList<int>?>(name, description, "LIST", value =>
        {
            int[] numbers = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(n => WholeNumber(name, n, 1)).ToArray();
            return numbers.Length > 0 ? numbers : throw new UsageException($"option '{name}' needs at least one number.");
        });

    private static int WholeNumber(string name, string value, int minimum) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n >= minimum
            ? n
            : throw new UsageException($"option '{name}' needs a whole number of at least {minimum}, got '{value}'.");
}
