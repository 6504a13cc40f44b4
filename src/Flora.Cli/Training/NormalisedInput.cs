using Flora.Data;
using static TorchSharp.torch;

namespace Flora.Cli.Training;

/// <summary>The data set's 28×28 gray images, <c>(x / 255 − mean) / std</c>, <c>[B, 1, 28, 28]</c> float32.</summary>
internal sealed class NormalisedInput : InputTransform
{
    private readonly Normalisation _normalisation;

    /// <summary>Normalises with <paramref name="normalisation"/>.</summary>
    public NormalisedInput(Normalisation normalisation) => _normalisation = normalisation;

    /// <inheritdoc/>
    public override (Tensor Images, Tensor Labels) Batch(ImageDataset data, long[] indices, Device device)
    {
        var (images, labels) = data.Batch(indices, _normalisation);
        return (images.to(device), labels.to(device));
    }
}
