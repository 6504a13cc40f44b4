using System;
using System.Globalization;

namespace Flora.Comparison;

/// <summary>
/// One budget of a comparison: a FLoRA configuration (ranks on the out/in modes, <see cref="R3"/> on every kernel axis,
/// the scale) whose trainable count LoRA and DoRA are matched to per layer. Budgets with the same <see cref="Name"/>
/// and another scale share their LoRA and DoRA runs (the scale changes FLoRA only).
/// </summary>
/// <param name="Name">The budget label in tables and plots: "A", "B", or "r8 R3=2" for a sweep's budget.</param>
/// <param name="Rank">FLoRA's rank on the out and in modes.</param>
/// <param name="R3">FLoRA's rank on every kernel axis.</param>
/// <param name="Scale">FLoRA's scale s.</param>
public sealed record FloraBudget(string Name, int Rank, int R3, double Scale)
{
    /// <summary>The scale a budget has when it names none: 4, the scale of both budgets of the default comparison.</summary>
    public const double DefaultScale = 4;

    /// <summary>The default comparison's budget A: rank 4, R3 1.</summary>
    public static FloraBudget A { get; } = new("A", 4, 1, DefaultScale);

    /// <summary>The default comparison's budget B: rank 8, R3 2.</summary>
    public static FloraBudget B { get; } = new("B", 8, 2, DefaultScale);

    /// <summary>The budget's FLoRA settings.</summary>
    public FloraModelOptions Options => new() { Rank = Rank, R3 = R3, Scale = Scale };

    /// <summary>Whether the scale is other than <see cref="DefaultScale"/> (then FLoRA's label names it).</summary>
    public bool HasOwnScale => Scale != DefaultScale;

    /// <summary>FLoRA's label at this budget: "FLoRA (budget r8 R3=2)", or with another scale "FLoRA s=0.4 (budget r8 R3=2)".</summary>
    public string FloraLabel => HasOwnScale ? $"FLoRA s={Scale.ToString("R", CultureInfo.InvariantCulture)} (budget {Name})" : $"FLoRA (budget {Name})";

    /// <summary>
    /// A budget from its command-line form <c>RANK:R3</c> or <c>RANK:R3:SCALE</c> (e.g. <c>8:2</c>, <c>32:2:0.4</c>; a
    /// bare <c>RANK</c> means R3 1), named "r{RANK} R3={R3}".
    /// </summary>
    /// <exception cref="FormatException">The text is not of that form, or a number is out of range; the message says which.</exception>
    public static FloraBudget Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string[] parts = text.Trim().Split(':');
        string form = $"budget '{text}': write RANK:R3 or RANK:R3:SCALE, e.g. 8:2 or 32:2:0.4";
        if (parts.Length is < 1 or > 3) throw new FormatException(form);
        int rank = Whole(parts[0], "RANK", form);
        int r3 = parts.Length > 1 ? Whole(parts[1], "R3", form) : 1;
        double scale = DefaultScale;
        if (parts.Length > 2 && !(double.TryParse(parts[2], NumberStyles.Float, CultureInfo.InvariantCulture, out scale) && scale > 0 && double.IsFinite(scale)))
            throw new FormatException($"{form} (SCALE must be a positive number, got '{parts[2]}')");
        return new FloraBudget($"r{rank} R3={r3}", rank, r3, scale);
    }

    private static int Whole(string text, string what, string form) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) && value >= 1
            ? value
            : throw new FormatException($"{form} ({what} must be a whole number of at least 1, got '{text}')");
}
