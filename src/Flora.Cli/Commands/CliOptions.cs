using System;
using System.CommandLine;
using System.IO;
using System.Linq;

namespace Flora.Cli.Commands;

/// <summary>Options several commands share, each with its validation.</summary>
internal static class CliOptions
{
    public static Option<string> CacheDirectory() => new("--data-dir")
    {
        Description = "Cache for the npm data packages and the pretrained base model",
        DefaultValueFactory = _ => Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "flora"),
    };

    public static Option<string> Device() => Choice("--device", "cpu or cuda", "cpu", "cuda");

    /// <summary>An option taking one of a fixed set of words: <paramref name="defaultValue"/> or one of <paramref name="others"/>.</summary>
    public static Option<string> Choice(string name, string description, string defaultValue, params string[] others)
    {
        var option = new Option<string>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        option.AcceptOnlyFromAmong(others.Prepend(defaultValue).ToArray());
        return option;
    }

    /// <summary><c>--adapter NAME</c>: which adapter of a directory (<see cref="AdapterSources"/>).</summary>
    public static Option<string?> AdapterName() => new("--adapter")
    {
        Description = "The adapter's name in a directory of adapters (`flora inspect DIR` lists them; default: \"default\", or the only one)",
    };

    /// <summary><paramref name="path"/> when the adapter file exists; otherwise an error naming it.</summary>
    public static string ExistingFile(string path) =>
        File.Exists(path) ? path : throw new FileNotFoundException($"adapter file '{path}' does not exist.", path);

    /// <summary>Runs <paramref name="check"/> only when the token converted (a conversion error is reported on its own).</summary>
    internal static void WhenConverted<T>(System.CommandLine.Parsing.OptionResult result, Action<T> check)
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

    public static Option<double?> OptionalNonNegative(string name, string description)
    {
        var option = new Option<double?>(name) { Description = description };
        option.Validators.Add(result => WhenConverted<double?>(result, value =>
        {
            if (value is double number && !(number >= 0 && double.IsFinite(number))) result.AddError($"{name} must be a number of 0 or more.");
        }));
        return option;
    }

    public static Option<string> Model() => Choice("--model",
        "tinyconvnext (pretrained here on MNIST; the CPU default) or resnet18 (ImageNet-pretrained ResNet-18, meant for --device cuda)",
        Experiments.FineTuneModel.TinyConvNeXtName, Experiments.FineTuneModel.ResNet18Name);

    public static Option<string> Dataset() => Choice("--dataset",
        "The fine-tuning data: fashion-mnist, or mnist (digits; with --model resnet18, as the TinyConvNeXt is pretrained on them)",
        Experiments.FineTuneDataset.All[0].Name, Experiments.FineTuneDataset.All.Skip(1).Select(d => d.Name).ToArray());

    public static Option<int> Resolution()
    {
        var option = new Option<int>("--resolution") { Description = "With --model resnet18: the side the 28×28 images are resized to (a multiple of 32)", DefaultValueFactory = _ => 64 };
        option.Validators.Add(result => WhenConverted<int>(result, value =>
        {
            if (value < 32 || value % 32 != 0) result.AddError($"--resolution must be a positive multiple of 32 (got {value}).");
        }));
        return option;
    }

    public static Option<double[]> LearningRateGrid()
    {
        var option = new Option<double[]>("--lr-grid")
        {
            Description = "Learning rates tried per method on a validation split of the training images, the best kept (default with --model resnet18: 7 rates from 1e-4 to 1e-1, half a decade apart (the first H200 run found every adapter method at 1e-2, the top of a grid ending there); without: the methods' fixed rates)",
            AllowMultipleArgumentsPerToken = true,
        };
        option.Validators.Add(result => WhenConverted<double[]>(result, values =>
        {
            if (values is not null && values.Any(v => !(v > 0 && double.IsFinite(v)))) result.AddError("--lr-grid takes positive numbers.");
        }));
        return option;
    }

    public static Option<string[]> Budgets()
    {
        var option = new Option<string[]>("--budgets")
        {
            Description = "A budget sweep: FLoRA configurations RANK:R3[:SCALE] (e.g. --budgets 4:1 8:2 16:2 32:2 32:2:0.4), each with LoRA and DoRA matched to its trainable count, beside full fine-tuning and BitFit (default: budgets A = 4:1 and B = 8:2, scale 4)",
            AllowMultipleArgumentsPerToken = true,
        };
        option.Validators.Add(result => WhenConverted<string[]>(result, values =>
        {
            try
            {
                if (values is { Length: > 0 }) _ = Flora.Comparison.MethodPlan.Comparison(values.Select(Flora.Comparison.FloraBudget.Parse).ToArray());
            }
            catch (Exception e) when (e is FormatException or ArgumentException)
            {
                result.AddError($"--budgets: {e.Message}");
            }
        }));
        return option;
    }
}
