using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora.Pretrained;

/// <summary>
/// A BatchNorm layer's forward that is safe from TorchSharp 0.107's scalar race (see Flora's <c>Scalars</c>). In
/// training mode TorchSharp's <c>BatchNorm.forward</c> counts the batch with <c>num_batches_tracked.add_(1)</c>: two
/// temporary scalars (the 1 and the alpha) that the garbage collector may free while the native call still reads them.
/// That crashed a ResNet-18 fine-tuning run after about 80 runs ("For integral input tensors, argument alpha must not be
/// a floating point number", from <c>BatchNorm.forward</c>). In training mode this counts with a scalar that lives for
/// the whole process and then normalises exactly as TorchSharp does (<c>batch_norm</c> with the batch's statistics,
/// updating the running ones by <c>momentum</c>).
/// </summary>
/// <remarks>
/// Everything else goes through the layer's own <c>call</c>: eval mode (no scalar is made there), a layer without
/// running statistics or with momentum 0 (TorchSharp's cumulative average), an input TorchSharp would refuse (it
/// names the shape), and a layer with forward hooks of its own, whose hooks must see the batch and keep their effect.
/// </remarks>
internal static class BatchNormForward
{
    /// <summary>The count added per batch, alive for the whole process (so never finalised during a call).</summary>
    private static readonly Scalar One = 1.ToScalar();

    /// <summary><paramref name="layer"/>'s output for <paramref name="input"/>, as <c>layer.call(input)</c> gives it.</summary>
    public static Tensor Run(BatchNorm2d layer, Tensor input)
    {
        if (!layer.training || layer.num_batches_tracked is not Tensor count || layer.running_mean is null || layer.running_var is null
            || layer.momentum is not double momentum || momentum == 0 || input.ndim != 4 || ModuleHooks.Count(layer) is not 0)
        {
            return layer.call(input);
        }
        count.add_(One, One);
        return nn.functional.batch_norm(input, layer.running_mean, layer.running_var, layer.affine ? layer.weight : null, layer.bias,
            training: true, momentum: momentum, eps: layer.eps);
    }
}
