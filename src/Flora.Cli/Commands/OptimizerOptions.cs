using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using Flora.Comparison;

namespace Flora.Cli.Commands;

/// <summary>
/// How a fine-tuning run optimises (<c>flora compare</c> and <c>flora train</c>): AdamW's decoupled weight decay and the
/// global gradient-norm clipping, both applied to every trainable tensor (FLoRA's core and factors, the head, BatchNorm).
/// </summary>
internal sealed class OptimizerOptions
{
    private readonly Option<double?> _weightDecay = CliOptions.OptionalNonNegative("--weight-decay", "AdamW's decoupled weight decay, 0 or more (default 0.05)");
    private readonly Option<string?> _clipNorm = new("--clip-norm") { Description = "Clip the gradients of all trainable tensors together to this global L2 norm, or none (default 1)" };

    public OptimizerOptions() =>
        _clipNorm.Validators.Add(result => CliOptions.WhenConverted<string?>(result, text =>
        {
            if (text is not null && ParseClip(text) is null) result.AddError($"--clip-norm takes a positive number or none (got '{text}').");
        }));

    /// <summary>The options, to add to a command.</summary>
    public IEnumerable<Option> All => new Option[] { _weightDecay, _clipNorm };

    /// <summary><paramref name="settings"/> with what the command line chose (unchanged where nothing was given).</summary>
    public TrainSettings Apply(ParseResult result, TrainSettings settings)
    {
        if (result.GetValue(_weightDecay) is double decay) settings = settings with { WeightDecay = decay };
        if (result.GetValue(_clipNorm) is string text) settings = settings with { ClipNorm = ParseClip(text)!.Value };
        return settings;
    }

    /// <summary>A clipping norm: a positive number, or "none" (infinity: no clipping); null when neither.</summary>
    private static double? ParseClip(string text) =>
        string.Equals(text, "none", System.StringComparison.OrdinalIgnoreCase) ? double.PositiveInfinity
        : double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double norm) && norm > 0 && double.IsFinite(norm) ? norm
        : null;
}
