using System;
using Flora.Data;
using Flora.Pretrained;
using static TorchSharp.torch;

namespace Flora.Cli.Training;

/// <summary>
/// 28×28 gray images as the ImageNet ResNet-18 reads them: values in [0, 1], resized (bilinear, <c>align_corners:
/// false</c>) to <see cref="Resolution"/>², the gray channel repeated as R, G and B, then
/// <see cref="PretrainedModels.ResNet18Preprocess"/> (BGR, 0–255, minus the mean image): <c>[B, 3, R, R]</c>.
/// </summary>
internal sealed class ResNetInput : InputTransform
{
    private static readonly Normalisation UnitRange = new(0f, 1f);

    /// <summary>Resizes to <paramref name="resolution"/>² (a positive multiple of 32, as the network's strides need).</summary>
    public ResNetInput(int resolution)
    {
        if (resolution < 32 || resolution % 32 != 0)
            throw new ArgumentException($"the resolution must be a positive multiple of 32 (got {resolution})", nameof(resolution));
        Resolution = resolution;
    }

    /// <summary>The side of the square input, in pixels.</summary>
    public int Resolution { get; }

    /// <inheritdoc/>
    public override (Tensor Images, Tensor Labels) Batch(ImageDataset data, long[] indices, Device device)
    {
        var (gray, labels) = data.Batch(indices, UnitRange);
        // Resizing the one gray channel and then repeating it equals resizing three equal channels, at a third of the cost.
        var resized = nn.functional.interpolate(gray.to(device), new long[] { Resolution, Resolution }, mode: InterpolationMode.Bilinear, align_corners: false);
        var rgb = resized.expand(-1, 3, -1, -1);
        return (PretrainedModels.ResNet18Preprocess(rgb), labels.to(device));
    }
}
