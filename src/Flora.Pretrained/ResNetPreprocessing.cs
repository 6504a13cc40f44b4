using System;
using Flora.Pretrained.Loading;
using Flora.Pretrained.Onnx;
using static TorchSharp.torch;

namespace Flora.Pretrained;

/// <summary>How <see cref="ResNetPreprocessing"/> subtracts the mean at sizes other than the mean image's (224×224).</summary>
internal enum MeanAtOtherSizes
{
    /// <summary>The mean image's per-channel means (B 103.06, G 115.90, R 123.15).</summary>
    ChannelMean,

    /// <summary>The mean image resized (bilinear) to the input's size.</summary>
    ResizedImage,
}

/// <summary>
/// The input convention of ResNet18.onnx, as ResNetPreprocess.onnx applies it: channels RGB → BGR, values 0–255, minus
/// a 224×224 mean image. The mean image is read once from the preprocessing graph and kept for the process.
/// </summary>
internal static class ResNetPreprocessing
{
    private static readonly Lazy<MeanTensors> Means = new(() => Load(PretrainedFiles.ResNetPreprocessOnnx));

    /// <summary>
    /// The default for other sizes: the mean image resized. Measured at 224 (PreprocessTests), a mean image resized from
    /// another grid moves the network's features about 7 times less than the per-channel means do.
    /// </summary>
    public const MeanAtOtherSizes DefaultAtOtherSizes = MeanAtOtherSizes.ResizedImage;

    /// <summary>Maps <paramref name="rgb"/> (<c>[N, 3, H, W]</c>, RGB in [0, 1]) to the network's input.</summary>
    public static Tensor Apply(Tensor rgb, MeanAtOtherSizes atOtherSizes = DefaultAtOtherSizes)
    {
        ArgumentNullException.ThrowIfNull(rgb);
        if (rgb.dim() != 4 || rgb.shape[1] != 3)
            throw new ArgumentException($"expected RGB images [N, 3, H, W], got [{string.Join(", ", rgb.shape)}]", nameof(rgb));
        if (!rgb.is_floating_point())
            throw new ArgumentException($"expected a floating-point tensor with values in [0, 1], got {rgb.dtype}", nameof(rgb));
        var means = Means.Value;
        using var scope = NewDisposeScope();
        long h = rgb.shape[2], w = rgb.shape[3];
        Tensor negMean;
        if (h == means.Height && w == means.Width)
            negMean = means.NegImage;
        else if (atOtherSizes == MeanAtOtherSizes.ChannelMean)
            negMean = means.NegChannelMean;
        else
            negMean = nn.functional.interpolate(means.NegImage, new[] { h, w }, mode: InterpolationMode.Bilinear, align_corners: false);
        if (negMean.dtype != rgb.dtype || negMean.device != rgb.device)
            negMean = negMean.to(rgb.dtype, rgb.device);
        return rgb.flip(1).Times(255.0).Plus(negMean).MoveToOuterDisposeScope();
    }

    /// <summary>Reads the mean image of <paramref name="path"/> (a ResNetPreprocess.onnx).</summary>
    internal static MeanTensors Load(string path)
    {
        var mean = ResNetPreprocessGraph.MeanImage(OnnxFile.Read(path));
        using var scope = NewDisposeScope();
        var image = tensor(mean.Data, mean.Shape).neg();
        var channel = image.mean(new long[] { 2, 3 }, keepdim: true);
        return new MeanTensors(image.DetachFromDisposeScope(), channel.DetachFromDisposeScope(), mean.Shape[2], mean.Shape[3]);
    }

    /// <summary>The negated mean image <c>[1, 3, H, W]</c> and its negated per-channel means <c>[1, 3, 1, 1]</c>, BGR.</summary>
    internal sealed record MeanTensors(Tensor NegImage, Tensor NegChannelMean, long Height, long Width);
}
