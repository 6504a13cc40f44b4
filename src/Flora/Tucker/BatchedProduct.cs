using static TorchSharp.torch;

namespace Flora;

/// <summary>Batched matrix products the grouped adapters build with.</summary>
internal static class BatchedProduct
{
    /// <summary>
    /// <c>input + batch1 @ batch2</c> for batches of matrices (<c>[n, a, b] @ [n, b, c]</c> onto <c>[n, a, c]</c>) in one
    /// kernel: libtorch's <c>baddbmm</c>. TorchSharp 0.107 passes its arguments on in another order than its signature
    /// says: <c>x.baddbmm(y, z)</c> computes <c>z + x @ y</c> (and <c>torch.baddbmm(input, batch1, batch2)</c> fails);
    /// this is the one place that knows, and a test pins it.
    /// </summary>
    public static Tensor PlusProduct(Tensor input, Tensor batch1, Tensor batch2) => batch1.baddbmm(batch2, input, 1, 1);
}
