using System;

namespace Flora;

/// <summary>
/// Marks a layer field or property (<c>Linear</c>, <c>Conv1d</c>, <c>Conv2d</c>, <c>Conv3d</c>) of a
/// <see cref="FloraModelAttribute"/> model as a FLoRA target. Values not set are inherited from the model.
/// A rank larger than the mode it factorises is clamped to that mode's size.
/// </summary>
[AttributeUsage(AttributeTargets.Field | AttributeTargets.Property, AllowMultiple = false, Inherited = false)]
public sealed class FloraTargetAttribute : Attribute
{
    /// <summary>Rank of the out and in modes, unless <see cref="OutRank"/>/<see cref="InRank"/> set them.</summary>
    public int Rank { get; set; }

    /// <summary>Rank of the in mode (in_features, or in_channels/groups).</summary>
    public int InRank { get; set; }

    /// <summary>Rank of the out mode (out_features or out_channels).</summary>
    public int OutRank { get; set; }

    /// <summary>Rank shared by every kernel axis (convolutions only).</summary>
    public int R3 { get; set; }

    /// <summary>The constant scale s of this target.</summary>
    public double Scale { get; set; }

    /// <summary>The rank of this target's LoRA or DoRA adapter; 0 inherits the model's (or the rank matched to FLoRA's budget).</summary>
    public int LoraRank { get; set; }

    /// <summary>This target's LoRA/DoRA α (scale <c>α/r</c>); 0 inherits the model's.</summary>
    public double LoraAlpha { get; set; }

    /// <summary>
    /// The bottleneck width of this target's Houlsby or Pfeiffer adapter; 0 (the default) inherits the model's (and,
    /// unset there too, the width matched to FLoRA's budget).
    /// </summary>
    public int AdapterSize { get; set; }
}
