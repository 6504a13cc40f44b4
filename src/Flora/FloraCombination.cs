namespace Flora;

/// <summary>How <see cref="FloraAttachment.AddWeightedAdapter"/> combines named adapters into a new one (PEFT's <c>combination_type</c>).</summary>
public enum FloraCombination
{
    /// <summary>
    /// PEFT's <c>linear</c>, for LoRA adapters of one rank: <c>A = Σ sign·√|w_i s_i|·A_i</c>, <c>B = Σ √|w_i s_i|·B_i</c>
    /// (scale 1). Not the weighted sum of the updates: it has cross terms <c>B_i A_j</c>.
    /// </summary>
    Linear,

    /// <summary>
    /// The exact weighted sum <c>Σ w_i ΔW_i</c>. LoRA (PEFT's <c>cat</c>): the ranks add up, <c>A = [w_i s_i A_i]</c>
    /// stacked, <c>B = [B_i]</c> side by side. FLoRA: block-diagonal core <c>diag(w_i s_i G_i)</c> with every mode's
    /// factors side by side, which needs each mode's summed rank to fit its size.
    /// </summary>
    Cat,

    /// <summary>
    /// PEFT's <c>svd</c>: <c>Σ w_i ΔW_i</c> (LoRA or FLoRA updates) projected onto a LoRA of the given rank by a truncated
    /// SVD (<c>B = U_r S_r</c>, <c>A = V_rᵀ</c>, scale 1) — approximate: the error is reported.
    /// </summary>
    Svd,
}
