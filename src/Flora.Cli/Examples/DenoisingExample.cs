using static TorchSharp.torch;

namespace Flora.Cli.Examples;

/// <summary>
/// <c>flora example unet</c>: a <see cref="DenoisingUNet"/> learns to remove Gaussian noise (std
/// <see cref="NoiseStd"/>) from MNIST digits, then its FLoRA (generated members) or LoRA adapters learn to denoise
/// Fashion-MNIST clothes. Metric: the mean squared error of the denoised test images against the clean ones.
/// </summary>
internal sealed class DenoisingExample : ExampleTask
{
    /// <summary>The std of the noise added to pixel values in [0, 1].</summary>
    public const double NoiseStd = 0.5;

    public override string Name => "unet";

    public override string Description => "a U-Net (Conv2d encoder, ConvTranspose2d decoder, skip connection) denoising MNIST digits, adapted to Fashion-MNIST";

    public override string MetricName => "test MSE";

    public override bool LowerIsBetter => true;

    public override string Format(double metric) => metric.ToString("F4", System.Globalization.CultureInfo.InvariantCulture);

    public override nn.Module<Tensor, Tensor> CreateNetwork() => new DenoisingUNet();

    public override FloraAttachment Attach(nn.Module<Tensor, Tensor> network, FloraMethod method) => ((DenoisingUNet)network).AttachFlora(method).Attachment;

    public override Tensor Loss(nn.Module<Tensor, Tensor> network, Tensor pixels, Tensor labels, Generator noise) =>
        nn.functional.mse_loss(network.call(Noisy(pixels, noise)), pixels);

    public override double Score(nn.Module<Tensor, Tensor> network, Tensor pixels, Tensor labels, Generator noise)
    {
        using var scope = NewDisposeScope();
        var squaredErrors = nn.functional.mse_loss(network.call(Noisy(pixels, noise)), pixels, nn.Reduction.Sum);
        return squaredErrors.item<float>() / (pixels.numel() / pixels.shape[0]); // the sum over images of each one's MSE
    }

    private static Tensor Noisy(Tensor pixels, Generator noise) => pixels + NoiseStd * randn(pixels.shape, generator: noise);
}
