using System;

namespace Flora;

/// <summary>
/// Marks a <c>partial</c> TorchSharp module whose <see cref="FloraTargetAttribute"/> members get FLoRA adapters.
/// The source generator emits <c>AttachFlora()</c>, <c>DetachFlora()</c>, <c>MergeFlora()</c>, <c>UnmergeFlora()</c>,
/// <c>SaveFlora(string)</c>, <c>LoadFlora(string)</c>, <c>FloraParameters()</c> and the typed <c>FloraAdapters</c> class.
/// Values set here are the defaults every target inherits.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class FloraModelAttribute : Attribute
{
    /// <summary>Default rank of the out and in modes (r_out, r_in). Default 8.</summary>
    public int Rank { get; set; } = FloraRankRules.DefaultRank;

    /// <summary>Default rank shared by every kernel axis of a convolution. Default 1.</summary>
    public int R3 { get; set; } = FloraRankRules.DefaultR3;

    /// <summary>Default constant scale s of <c>ΔW = s · G ×1 U1 … ×N UN</c>. The paper uses 0.04, 0.4 or 4. Default 0.4.</summary>
    public double Scale { get; set; } = FloraRankRules.DefaultScale;

    /// <summary>Budget: the compile-time trainable parameter count may not exceed this (diagnostic FLORA008). 0 means no budget.</summary>
    public long MaxTrainableParameters { get; set; }

    /// <summary>
    /// The rank of every LoRA and DoRA adapter (<c>AttachFlora(FloraMethod.Lora)</c>/<c>.Dora</c>), as PEFT's <c>r</c>.
    /// 0 (the default) picks, per target, the rank matched to that target's FLoRA budget.
    /// </summary>
    public int LoraRank { get; set; }

    /// <summary>
    /// LoRA's and DoRA's α (PEFT's <c>lora_alpha</c>): the update is scaled by <c>α/r</c>. 0 (the default) uses α = r, a
    /// scale of 1.
    /// </summary>
    public double LoraAlpha { get; set; }

    /// <summary>
    /// Also train and save every normalisation layer of the model (BatchNorm1d/2d/3d, LayerNorm, GroupNorm, InstanceNorm)
    /// as a module to save, without marking each with <see cref="FloraModuleToSaveAttribute"/>: what transfer learning on a
    /// network with BatchNorm needs (its running statistics move while it trains).
    /// </summary>
    public bool SaveNormLayers { get; set; }

    /// <summary>
    /// The bottleneck width of every Houlsby and Pfeiffer adapter (<c>AttachFlora(FloraMethod.Houlsby)</c>/<c>.Pfeiffer</c>).
    /// 0 (the default) picks, per adapter, the width whose trainable count is closest to the FLoRA budget it replaces.
    /// </summary>
    public int AdapterSize { get; set; }

    /// <summary>
    /// AdaLoRA's target rank (PEFT's <c>target_r</c>): the average rank per target once the budget has been allocated.
    /// 0 (the default) picks, per target, the rank matched to that target's FLoRA budget.
    /// </summary>
    public int AdaLoraTargetRank { get; set; }

    /// <summary>
    /// AdaLoRA's initial rank (PEFT's <c>init_r</c>), at least the target rank. 0 (the default) starts at 1.5× the target
    /// rank (PEFT's 12 for 8).
    /// </summary>
    public int AdaLoraInitRank { get; set; }
}
