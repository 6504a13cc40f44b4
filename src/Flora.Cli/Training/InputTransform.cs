using Flora.Data;
using static TorchSharp.torch;

namespace Flora.Cli.Training;

/// <summary>
/// How a model sees a batch of a data set: the images at some indices turned into the model's input, with their labels,
/// on a device. Applied per batch by the training and evaluation loops, so only one batch is ever transformed at a time.
/// </summary>
internal abstract class InputTransform
{
    /// <summary>
    /// The images at <paramref name="indices"/> of <paramref name="data"/> as the model's input and their labels
    /// (<c>[B]</c> int64), both on <paramref name="device"/>. The tensors belong to the caller's dispose scope.
    /// </summary>
    public abstract (Tensor Images, Tensor Labels) Batch(ImageDataset data, long[] indices, Device device);

    /// <summary>The gray images normalised per pixel, <c>[B, 1, 28, 28]</c>, as the small networks read them.</summary>
    public static InputTransform Normalised(Normalisation normalisation) => new NormalisedInput(normalisation);
}
