using System;

namespace Flora;

/// <summary>How an unmerged adapter (FLoRA, LoRA, DoRA) computes its contribution.</summary>
public enum FloraForwardPath
{
    /// <summary>
    /// Pick per call by the cost model: the estimated time of the work each path runs for the input at hand on its device
    /// and dtype (a training step while gradients are recorded, a forward otherwise); <see cref="DeltaAdapterLayer.EstimateCost(long[])"/>
    /// shows its figures.
    /// </summary>
    Auto,
    /// <summary>Never build ΔW: a chain of rank-sized products (Linear) or convolutions (1×1 → core → 1×1).</summary>
    Factorised,
    /// <summary>Build ΔW in the base weight's shape and run a second full-size layer with it (the authors' approach).</summary>
    Materialised,
    /// <summary>
    /// Build ΔW and run the layer once with the weight <c>W0 + ΔW</c> in place of the base layer's own call: exact, one
    /// full-size layer in the forward; training adds that layer's weight gradient. Where the base layer's call cannot
    /// be skipped (an unbatched input to a hook-bound member, adapter dropout while training), the cheaper of the other
    /// two paths runs instead and <c>LastPath</c> says which.
    /// </summary>
    Fused,
}

/// <summary>Model-wide FLoRA settings every target inherits (the values of <see cref="FloraModelAttribute"/>).</summary>
public sealed record FloraModelOptions
{
    /// <summary>Default rank of the out and in modes.</summary>
    public int Rank { get; init; } = FloraRankRules.DefaultRank;
    /// <summary>Default rank of every kernel axis.</summary>
    public int R3 { get; init; } = FloraRankRules.DefaultR3;
    /// <summary>Default scale s.</summary>
    public double Scale { get; init; } = FloraRankRules.DefaultScale;
    /// <summary>Dropout probability on the adapter's input (the authors' <c>drop_rate</c>); 0 turns it off.</summary>
    public double Dropout { get; init; }
    /// <summary>Default forward path of unmerged adapters.</summary>
    public FloraForwardPath ForwardPath { get; init; } = FloraForwardPath.Auto;
    /// <summary>
    /// LoRA's and DoRA's α, the numerator of their scale <c>α/r</c> (or <c>α/√r</c> with <see cref="UseRsLora"/>).
    /// Null (the default) uses each target's matched rank r, so the scale is 1 whatever rank the budget gives.
    /// The FLoRA method ignores it.
    /// </summary>
    public double? LoraAlpha { get; init; }
    /// <summary>
    /// Scale LoRA and DoRA updates by <c>α/√r</c> (rank-stabilised LoRA) instead of <c>α/r</c>. The FLoRA method ignores it.
    /// </summary>
    public bool UseRsLora { get; init; }
    /// <summary>
    /// The rank r of every LoRA and DoRA adapter (PEFT's <c>r</c>), at least 1. Null (the default) picks, per target, the
    /// rank whose trainable count is closest to that target's FLoRA count. The FLoRA method ignores it, but a value below
    /// 1 is refused here, whatever the method (<see cref="ArgumentException"/> naming the option).
    /// </summary>
    public int? LoraRank
    {
        get => _loraRank;
        init => _loraRank = LoraRankRule.Check(value, nameof(FloraModelOptions), "FloraModel");
    }

    private readonly int? _loraRank;
    /// <summary>
    /// Also train and save every normalisation layer of the model (BatchNorm1d/2d/3d, LayerNorm, GroupNorm,
    /// InstanceNorm1d/2d/3d) as a module to save, without naming each one (the value of
    /// <see cref="FloraModelAttribute.SaveNormLayers"/>).
    /// </summary>
    public bool SaveNormLayers { get; init; }
    /// <summary>
    /// Keep the adapter tensors of a bfloat16 or float16 base layer in float32 (PEFT's <c>autocast_adapter_dtype</c>, on
    /// by default): the update is computed in float32 and added to the base output before the one rounding to 16 bits,
    /// and the optimizer's small steps are not rounded away. Off: the adapter tensors take the base weight's dtype
    /// (half the adapter memory; an update below the dtype's resolution is then lost).
    /// </summary>
    public bool AutocastAdapterDtype { get; init; } = true;

    /// <summary>
    /// The bottleneck width of every Houlsby and Pfeiffer adapter, at least 1. Null (the default) picks, per adapter, the
    /// width whose trainable count is closest to the FLoRA budget it replaces (a Pfeiffer adapter replaces its block's
    /// targets). Other methods ignore it, but a value below 1 is refused here.
    /// </summary>
    public int? AdapterSize
    {
        get => _adapterSize;
        init => _adapterSize = AdapterSizeRule.Check(value, nameof(FloraModelOptions), "FloraModel");
    }

    private readonly int? _adapterSize;

    /// <summary>
    /// AdaLoRA's settings (<see cref="FloraMethod.AdaLora"/>): target and initial rank, the budget schedule and the
    /// orthogonality weight. Null uses <see cref="AdaLoraOptions"/>' defaults; <see cref="FloraAttachment.UpdateAndAllocate"/>
    /// needs <see cref="AdaLoraOptions.TotalSteps"/>.
    /// </summary>
    public AdaLoraOptions? AdaLora { get; init; }
}

/// <summary>What one target sets itself (null: inherit from <see cref="FloraModelOptions"/>); the values of <see cref="FloraTargetAttribute"/>.</summary>
public sealed record FloraTargetOptions
{
    /// <summary>Rank of the out and in modes.</summary>
    public int? Rank { get; init; }
    /// <summary>Rank of the in mode.</summary>
    public int? InRank { get; init; }
    /// <summary>Rank of the out mode.</summary>
    public int? OutRank { get; init; }
    /// <summary>Rank of every kernel axis.</summary>
    public int? R3 { get; init; }
    /// <summary>Scale s.</summary>
    public double? Scale { get; init; }
    /// <summary>Dropout probability on the adapter's input.</summary>
    public double? Dropout { get; init; }
    /// <summary>Forward path of this adapter.</summary>
    public FloraForwardPath? ForwardPath { get; init; }
    /// <summary>
    /// The rank of this target's LoRA or DoRA adapter (PEFT's <c>rank_pattern</c> entry), at least 1; null inherits the
    /// model's. A value below 1 is refused here, whatever the method (<see cref="ArgumentException"/> naming the option).
    /// </summary>
    public int? LoraRank
    {
        get => _loraRank;
        init => _loraRank = LoraRankRule.Check(value, nameof(FloraTargetOptions), "FloraTarget");
    }

    private readonly int? _loraRank;
    /// <summary>This target's LoRA/DoRA α (PEFT's <c>alpha_pattern</c> entry).</summary>
    public double? LoraAlpha { get; init; }

    /// <summary>The bottleneck width of this target's Houlsby or Pfeiffer adapter, at least 1; null inherits the model's.</summary>
    public int? AdapterSize
    {
        get => _adapterSize;
        init => _adapterSize = AdapterSizeRule.Check(value, nameof(FloraTargetOptions), "FloraTarget");
    }

    private readonly int? _adapterSize;

    /// <summary>A target that inherits everything.</summary>
    public static FloraTargetOptions Inherit { get; } = new();
}

/// <summary>The rule every <c>LoraRank</c> option follows: unset (null), or a rank of at least 1.</summary>
internal static class LoraRankRule
{
    /// <summary>Returns <paramref name="value"/>, or throws naming <paramref name="owner"/>'s LoraRank and the attribute that sets it.</summary>
    public static int? Check(int? value, string owner, string attribute) => value is < 1
        ? throw new ArgumentException($"{owner}.LoraRank {value} is less than 1: a LoRA rank must be at least 1. Use a rank of at least 1, or leave it unset " +
                                      $"(null; 0 or nothing on [{attribute}(LoraRank = …)]) to match FLoRA's budget.", nameof(FloraModelOptions.LoraRank))
        : value;
}

/// <summary>The rule every <c>AdapterSize</c> option follows: unset (null), or a width of at least 1.</summary>
internal static class AdapterSizeRule
{
    /// <summary>Returns <paramref name="value"/>, or throws naming <paramref name="owner"/>'s AdapterSize and the attribute that sets it.</summary>
    public static int? Check(int? value, string owner, string attribute) => value is < 1
        ? throw new ArgumentException($"{owner}.AdapterSize {value} is less than 1: a bottleneck adapter is at least 1 wide. Use a width of at least 1, or leave it " +
                                      $"unset (null; 0 or nothing on [{attribute}(AdapterSize = …)]) to match FLoRA's budget.", nameof(FloraModelOptions.AdapterSize))
        : value;
}
