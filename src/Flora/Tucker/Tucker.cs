using System;
using System.Collections.Generic;
using static TorchSharp.torch;

namespace Flora;

/// <summary>The paper's tensor algebra: the mode-n product and the Tucker reconstruction <c>G ×1 U1 ×2 U2 … ×N UN</c>.</summary>
public static class Tucker
{
    /// <summary>
    /// The mode-n product <c>X ×n U</c>: contracts mode <paramref name="mode"/> of <paramref name="tensor"/> (size r_n)
    /// with the columns of <paramref name="factor"/> (shape <c>I_n × r_n</c>); that mode's size becomes I_n.
    /// </summary>
    public static Tensor ModeProduct(Tensor tensor, Tensor factor, int mode)
    {
        CheckFactor(tensor, factor, mode);
        using var scope = NewDisposeScope();
        Tensor product = tensor.movedim(new long[] { mode }, new long[] { -1 }).matmul(factor.t());
        return product.movedim(new long[] { -1 }, new long[] { mode }).MoveToOuterDisposeScope();
    }

    /// <summary>Reconstructs <c>G ×1 U1 ×2 U2 … ×N UN</c>; <paramref name="factors"/>[n] multiplies mode n.</summary>
    public static Tensor Reconstruct(Tensor core, IReadOnlyList<Tensor> factors) => Reconstruct(core, factors, firstMode: 0);

    /// <summary>
    /// Multiplies modes <paramref name="firstMode"/>, <paramref name="firstMode"/>+1, … of <paramref name="core"/> by
    /// <paramref name="factors"/>[0], [1], …, leaving the other modes in core space (used for the core convolution's kernel).
    /// </summary>
    public static Tensor Reconstruct(Tensor core, IReadOnlyList<Tensor> factors, int firstMode)
    {
        if (firstMode < 0 || firstMode + factors.Count > core.dim())
            throw new ArgumentException($"{factors.Count} factors from mode {firstMode} do not fit a core of {core.dim()} modes");
        // Last mode first: the kernel axes expand the small core a little, the in mode next, and mode 0 (out, the
        // largest) last as one matrix product over the flattened rest, which leaves the result contiguous.
        using var scope = NewDisposeScope();
        Tensor result = core;
        for (int i = factors.Count - 1; i >= 0; i--)
        {
            int mode = firstMode + i;
            result = mode == 0 ? FirstModeProduct(result, factors[i]) : ModeProduct(result, factors[i], mode);
        }
        return result.contiguous().MoveToOuterDisposeScope();
    }

    /// <summary><c>X ×1 U</c> as one matrix product: <c>U · X₍₁₎</c> reshaped back (mode 0 needs no transposes).</summary>
    private static Tensor FirstModeProduct(Tensor tensor, Tensor factor)
    {
        CheckFactor(tensor, factor, 0);
        long[] shape = tensor.shape;
        shape[0] = factor.shape[0];
        using var unfolded = tensor.reshape(tensor.shape[0], -1);
        using var product = factor.matmul(unfolded);
        return product.reshape(shape);
    }

    /// <summary>Throws unless <paramref name="factor"/> is an <c>I × r</c> matrix for mode <paramref name="mode"/> of <paramref name="tensor"/>.</summary>
    private static void CheckFactor(Tensor tensor, Tensor factor, int mode)
    {
        if (mode < 0 || mode >= tensor.dim())
            throw new ArgumentOutOfRangeException(nameof(mode), $"mode {mode} is outside a tensor of {tensor.dim()} modes");
        if (factor.dim() != 2 || factor.shape[1] != tensor.shape[mode])
            throw new ArgumentException($"a mode-{mode} factor must be I×{tensor.shape[mode]}; got [{string.Join(", ", factor.shape)}]", nameof(factor));
    }
}
