using System;
using System.Text.Json.Serialization;

namespace Flora;

/// <summary>
/// AdaLoRA's settings (PEFT's <c>AdaLoraConfig</c>, its fields in PascalCase): the rank budget falls from
/// <see cref="InitRank"/> per target to <see cref="TargetRank"/> on average with a cubic schedule, triplets ranked by
/// smoothed sensitivity (<see cref="Beta1"/>) times uncertainty (<see cref="Beta2"/>); <see cref="FloraAttachment.UpdateAndAllocate"/>
/// runs one step of it after each optimizer step.
/// <list type="bullet">
/// <item>steps ≤ <see cref="TInit"/>: warm-up, every rank kept;</item>
/// <item>then until <c>TotalSteps − TFinal</c>: the budget <c>target + (init − target)·(1 − (t − TInit)/(TotalSteps − TFinal − TInit))³</c>,
/// masked every <see cref="DeltaT"/> steps;</item>
/// <item>at <c>TotalSteps − TFinal</c> the final allocation, kept fixed for the last <see cref="TFinal"/> steps.</item>
/// </list>
/// Adapter files record these settings under PEFT's field names (<c>target_r</c>, <c>init_r</c>, <c>tinit</c>, …).
/// </summary>
public sealed record AdaLoraOptions
{
    /// <summary>PEFT's defaults: β1 = β2 = 0.85, orthogonality weight 0.5, ΔT = 1.</summary>
    private const double DefaultBeta = 0.85, DefaultOrthRegWeight = 0.5;

    /// <summary>The average rank per target after allocation (PEFT's <c>target_r</c>); null matches each target's FLoRA budget.</summary>
    [JsonPropertyName("target_r")]
    public int? TargetRank { get; init; }

    /// <summary>The rank every target starts with (PEFT's <c>init_r</c>); null is 1.5× the target rank, rounded up.</summary>
    [JsonPropertyName("init_r")]
    public int? InitRank { get; init; }

    /// <summary>Warm-up steps before the budget starts to fall (PEFT's <c>tinit</c>).</summary>
    [JsonPropertyName("tinit")]
    public int TInit { get; init; }

    /// <summary>Final steps with the allocation fixed (PEFT's <c>tfinal</c>).</summary>
    [JsonPropertyName("tfinal")]
    public int TFinal { get; init; }

    /// <summary>Steps between two allocations (PEFT's <c>deltaT</c>).</summary>
    [JsonPropertyName("deltaT")]
    public int DeltaT { get; init; } = 1;

    /// <summary>Smoothing of the sensitivity (PEFT's <c>beta1</c>), in (0, 1).</summary>
    [JsonPropertyName("beta1")]
    public double Beta1 { get; init; } = DefaultBeta;

    /// <summary>Smoothing of the uncertainty (PEFT's <c>beta2</c>), in (0, 1).</summary>
    [JsonPropertyName("beta2")]
    public double Beta2 { get; init; } = DefaultBeta;

    /// <summary>The weight of the orthogonality term <see cref="FloraAttachment.OrthogonalRegularization"/> returns (PEFT's <c>orth_reg_weight</c>), at least 0.</summary>
    [JsonPropertyName("orth_reg_weight")]
    public double OrthRegWeight { get; init; } = DefaultOrthRegWeight;

    /// <summary>The training's total steps (PEFT's <c>total_step</c>); needed by <see cref="FloraAttachment.UpdateAndAllocate"/>.</summary>
    [JsonPropertyName("total_step")]
    public int? TotalSteps { get; init; }

    /// <summary>Throws, naming the setting, the value and the fix, when a setting is out of range.</summary>
    internal void Validate()
    {
        if (TargetRank is < 1) throw Bad(nameof(TargetRank), TargetRank, "a rank of at least 1, or null to match FLoRA's budget");
        if (InitRank is < 1) throw Bad(nameof(InitRank), InitRank, "a rank of at least 1, or null for 1.5× the target rank");
        if (TargetRank is int target && InitRank is int init && target > init)
            throw new ArgumentException($"AdaLoraOptions.TargetRank {target} exceeds InitRank {init}: AdaLoRA only takes ranks away. Use InitRank ≥ {target}, or a lower TargetRank.");
        if (TInit < 0) throw Bad(nameof(TInit), TInit, "0 or more warm-up steps");
        if (TFinal < 0) throw Bad(nameof(TFinal), TFinal, "0 or more final steps");
        if (DeltaT < 1) throw Bad(nameof(DeltaT), DeltaT, "at least 1 step between allocations");
        if (!(Beta1 > 0 && Beta1 < 1)) throw Bad(nameof(Beta1), Beta1, "a value in (0, 1), PEFT's 0.85 by default");
        if (!(Beta2 > 0 && Beta2 < 1)) throw Bad(nameof(Beta2), Beta2, "a value in (0, 1), PEFT's 0.85 by default");
        if (!(OrthRegWeight >= 0) || double.IsInfinity(OrthRegWeight)) throw Bad(nameof(OrthRegWeight), OrthRegWeight, "a finite weight of at least 0");
        if (TotalSteps is int total && TInit + TFinal >= total)
            throw new ArgumentException($"AdaLoraOptions: TInit {TInit} + TFinal {TFinal} must be less than TotalSteps {total}, so that the budget has steps to fall in " +
                                        "(PEFT's rule). Use more steps or shorter warm-up and final phases.");
        if (TotalSteps is < 1) throw Bad(nameof(TotalSteps), TotalSteps, "the number of optimizer steps the training runs");
    }

    private static ArgumentException Bad(string setting, object? value, string fix) =>
        new($"AdaLoraOptions.{setting} {value} is out of range. Use {fix}.", setting);
}
