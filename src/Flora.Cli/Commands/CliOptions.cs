using System;
using System.CommandLine;
using System.IO;

namespace Flora.Cli.Commands;

/// <summary>Options several commands share, each with its validation.</summary>
internal static class CliOptions
{
    public static Option<string> CacheDirectory() => new("--data-dir")
    {
        Description = "Cache for the npm data packages and the pretrained base model",
        DefaultValueFactory = _ => Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "flora"),
    };

    public static Option<string> Device()
    {
        var option = new Option<string>("--device") { Description = "cpu or cuda", DefaultValueFactory = _ => "cpu" };
        option.AcceptOnlyFromAmong("cpu", "cuda");
        return option;
    }

    /// <summary>Runs <paramref name="check"/> only when the token converted (a conversion error is reported on its own).</summary>
    private static void WhenConverted<T>(System.CommandLine.Parsing.OptionResult result, Action<T> check)
    {
        T value;
        try
        {
            value = result.GetValueOrDefault<T>();
        }
        catch (InvalidOperationException)
        {
            return;
        }
        check(value);
    }

    public static Option<int> Positive(string name, string description, int defaultValue)
    {
        var option = new Option<int>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        option.Validators.Add(result => WhenConverted<int>(result, value =>
        {
            if (value < 1) result.AddError($"{name} must be at least 1.");
        }));
        return option;
    }

    public static Option<int?> OptionalPositive(string name, string description)
    {
        var option = new Option<int?>(name) { Description = description };
        option.Validators.Add(result => WhenConverted<int?>(result, value =>
        {
            if (value is < 1) result.AddError($"{name} must be at least 1.");
        }));
        return option;
    }

    public static Option<double?> OptionalRate(string name, string description)
    {
        var option = new Option<double?>(name) { Description = description };
        option.Validators.Add(result => WhenConverted<double?>(result, value =>
        {
            if (value is double rate && !(rate > 0 && double.IsFinite(rate))) result.AddError($"{name} must be a positive number.");
        }));
        return option;
    }
}
