using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// A BatchNorm layer's forward that is safe from TorchSharp 0.107's scalar race, bit for bit equal to the layer's own
/// <c>call</c>. In training mode TorchSharp's <c>BatchNorm.forward</c> counts the batch with
/// <c>num_batches_tracked.add_(1)</c>: two temporary scalars (the 1 and the alpha) that the garbage collector may free
/// while the native call still reads them. Long runs then crash at random (a ResNet-18 fine-tuning run did, after about
/// 80 runs, with "For integral input tensors, argument alpha must not be a floating point number"). Call your
/// BatchNorm layers through <see cref="Forward"/> in a model that trains them for long:
/// <c>FloraBatchNorm.Forward(bn1, conv1.call(x))</c> instead of <c>bn1.call(conv1.call(x))</c>.
/// </summary>
/// <remarks>
/// In training mode, with running statistics, this counts the batch with a scalar that lives for the whole process and
/// normalises exactly as TorchSharp does: <c>batch_norm</c> with the batch's statistics, updating the running ones by
/// <c>momentum</c> (<c>momentum = null</c>: by <c>1 / num_batches_tracked</c>, the cumulative average; <c>0</c>: not at all).
/// Everything else goes through the layer's own <c>call</c>, which makes no temporary scalar there: eval mode, a layer
/// without running statistics, an input of a rank the layer refuses (TorchSharp's error names it), a layer type other
/// than <see cref="BatchNorm1d"/>, <see cref="BatchNorm2d"/> and <see cref="BatchNorm3d"/>, and a layer with forward hooks
/// of its own, whose hooks must see the batch and keep their effect.
/// </remarks>
public static class FloraBatchNorm
{
    /// <summary>The count added per batch, alive for the whole process (so never finalised during a call).</summary>
    private static readonly Scalar One = 1.ToScalar();

    /// <summary><paramref name="layer"/>'s output for <paramref name="input"/>, as <c>layer.call(input)</c> gives it (running statistics and batch count included).</summary>
    /// <param name="layer">A <see cref="BatchNorm1d"/>, <see cref="BatchNorm2d"/> or <see cref="BatchNorm3d"/> (the <c>torch.nn.BatchNorm1d/2d/3d</c> factories' types).</param>
    /// <param name="input">The batch: <c>[N, C]</c> or <c>[N, C, L]</c> for 1d, <c>[N, C, H, W]</c> for 2d, <c>[N, C, D, H, W]</c> for 3d.</param>
    public static Tensor Forward(BatchNorm layer, Tensor input)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(input);
        if (!layer.training || !layer.track_running_stats || layer.num_batches_tracked is not Tensor count
            || !AcceptsRank(layer, input.ndim) || ModuleHooks.Count(layer) is not 0)
        {
            return layer.call(input);
        }
        count.add_(One, One);
        double factor;
        if (layer.momentum is double momentum)
        {
            factor = momentum;
        }
        else
        {
            using var batches = count.ToScalar();
            factor = 1.0 / batches.ToDouble();
        }
        return nn.functional.batch_norm(input, layer.running_mean, layer.running_var, layer.weight, layer.bias,
            training: true, momentum: factor, eps: layer.eps);
    }

    /// <summary>The input ranks TorchSharp's own check lets through; other layer types always take their own call.</summary>
    private static bool AcceptsRank(BatchNorm layer, long rank) => layer switch
    {
        BatchNorm1d => rank is 2 or 3,
        BatchNorm2d => rank == 4,
        BatchNorm3d => rank == 5,
        _ => false,
    };
}
