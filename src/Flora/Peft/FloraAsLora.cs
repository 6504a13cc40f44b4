using System.Linq;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// The exact LoRA a FLoRA adapter equals. <c>s·ΔW = s·G ×1 U_out ×2 U_in ×3 U_k0 …</c> factors through its out mode:
/// with <c>B = U_out</c> (<c>[out, r_out]</c>) and <c>A = s·G ×2 U_in ×3 U_k0 …</c> (<c>[r_out, in, k…]</c>; Linear
/// <c>[r_out, in]</c>), <c>B·A</c> in the weight's matrix view is <c>s·ΔW</c>, so a LoRA of rank <c>r_out</c> with α = r_out
/// (scale 1) computes the same layer. For convolutions with groups = 1, PEFT's conv LoRA (A a convolution with the base
/// kernel, stride and padding, B a 1×1 convolution) then runs exactly FLoRA's update: the core convolution with the
/// in-factor folded into its kernel, followed by the out-factor.
/// <para>
/// An Embedding (<c>s·ΔW = s·U0·G·U1ᵀ</c>, <c>[num_embeddings, dim]</c>) factors through its output side, the dim mode:
/// PEFT's <c>(B·A)ᵀ</c> with <c>B = U1</c> (<c>[dim, r1]</c>, <c>lora_embedding_B</c>) and <c>A = (s·U0·G)ᵀ</c>
/// (<c>[r1, num_embeddings]</c>, <c>lora_embedding_A</c>), rank <c>r1</c>, α = r1.
/// </para>
/// </summary>
internal static class FloraAsLora
{
    /// <summary>A (<c>[r_out, in/groups, k…]</c>) and B (<c>[out, r_out]</c>) with <c>B·A = s·ΔW</c> (scale 1), in the adapter's dtype and device.</summary>
    public static (Tensor A, Tensor B) Factors(FloraLayer adapter)
    {
        System.ArgumentNullException.ThrowIfNull(adapter);
        using var scope = NewDisposeScope();
        using var guard = no_grad();
        var factors = adapter.Factors;
        if (adapter is FloraEmbedding)
        {
            Tensor rows = factors[0].matmul(adapter.Core).mul(adapter.Config.Scale);   // s·U0·G, [num, r1]
            return (rows.t().contiguous().MoveToOuterDisposeScope(), factors[1].detach().clone().MoveToOuterDisposeScope());
        }
        Tensor a = Tucker.Reconstruct(adapter.Core.Times(adapter.Config.Scale), factors.Skip(1).Cast<Tensor>().ToArray(), firstMode: 1);
        Tensor b = factors[0].detach().clone();
        return (a.MoveToOuterDisposeScope(), b.MoveToOuterDisposeScope());
    }
}
