using System.Collections.Generic;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// AdaLoRA's orthogonality regulariser, as PEFT's <c>AdaLoraModel.forward</c> adds it to the loss:
/// <c>weight · (Σ ‖QQᵀ − I‖_F + Σ ‖PᵀP − I‖_F) / (number of Q and P matrices)</c>, over every adapter's Q
/// (<c>lora_A</c>) and P (<c>lora_B</c>). It pushes P and Q towards orthonormal columns and rows, so that Λ holds the
/// update's singular values and masking a triplet removes exactly its share.
/// </summary>
internal static class AdaLoraOrthogonality
{
    /// <summary>
    /// The regulariser of <paramref name="adapters"/> with <paramref name="weight"/> (PEFT's <c>orth_reg_weight</c>):
    /// differentiable, on the adapters' device, in their dtype; a zero float32 scalar when there are none.
    /// </summary>
    public static Tensor Term(IReadOnlyList<AdaLoraLayer> adapters, double weight)
    {
        if (adapters.Count == 0) return zeros(System.Array.Empty<long>());
        using var scope = NewDisposeScope();
        Tensor? sum = null;
        foreach (var adapter in adapters)
        {
            var (a, b) = adapter.OrthogonalityTerms();
            sum = sum is null ? a.Plus(b) : sum.Plus(a).Plus(b);
        }
        // PEFT: (Σ norms / count) · weight.
        return sum!.Times(1.0 / (2 * adapters.Count)).Times(weight).MoveToOuterDisposeScope();
    }
}
