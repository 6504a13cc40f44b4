using Xunit.Abstractions;

namespace Flora.Pretrained.Tests;

/// <summary><see cref="PretrainedModels.ResNet18Preprocess"/> against onnxruntime's run of ResNetPreprocess.onnx.</summary>
[Collection(PretrainedCollection.Name)]
public sealed class PreprocessTests(PretrainedFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public void Preprocess_at_224_equals_the_original_graph()
    {
        using var scope = NewDisposeScope();
        var rgb = cat(new[] { TestImages.Structured(2), TestImages.Random(1, seed: 3) });
        // The graph's input convention (read from it: Split R, G, B → Concat B, G, R → Sub MeanImage): RGB, 0–255.
        var expected = fixture.PreprocessReference.Run(rgb * 255);
        var actual = PretrainedModels.ResNet18Preprocess(rgb);
        double error = (actual - expected).abs().max().ToDouble();
        output.WriteLine($"max |Δ| = {error:E3} (values up to {expected.abs().max().ToDouble():F1})");
        Assert.True(error < 1e-4, $"max abs difference {error}");
    }

    [Fact]
    public void Other_sizes_subtract_the_mean_image_resized_in_BGR()
    {
        using var scope = NewDisposeScope();
        var rgb = TestImages.Random(2, seed: 5, size: 160).narrow(3, 0, 96);
        var actual = PretrainedModels.ResNet18Preprocess(rgb);
        Assert.Equal(new long[] { 2, 3, 160, 96 }, actual.shape);
        var means = ResNetPreprocessing.Load(PretrainedFiles.ResNetPreprocessOnnx);
        var mean = nn.functional.interpolate(-means.NegImage, new long[] { 160, 96 }, mode: InterpolationMode.Bilinear, align_corners: false);
        for (int c = 0; c < 3; c++)
        {
            var expected = rgb[.., 2 - c] * 255 - mean[0, c];
            Assert.True((actual[.., c] - expected).abs().max().ToDouble() < 1e-3);
        }
        var channelMeans = means.NegChannelMean.flatten().neg().data<float>().ToArray();
        Assert.Equal(new[] { 103.06, 115.90, 123.15 }, channelMeans.Select(v => Math.Round(v, 2)));
        means.NegImage.Dispose();
        means.NegChannelMean.Dispose();
    }

    [Fact]
    public void Preprocess_rejects_what_is_not_an_RGB_batch()
    {
        using var scope = NewDisposeScope();
        Assert.Throws<ArgumentException>(() => PretrainedModels.ResNet18Preprocess(zeros(3, 224, 224)));
        Assert.Throws<ArgumentException>(() => PretrainedModels.ResNet18Preprocess(zeros(1, 1, 224, 224)));
        Assert.Throws<ArgumentException>(() => PretrainedModels.ResNet18Preprocess(zeros(new long[] { 1, 3, 8, 8 }, dtype: ScalarType.Byte)));
    }

    /// <summary>
    /// The measurement behind the choice for sizes other than 224: at 224, where the exact preprocessing is known, how
    /// far the network's features move when the mean image is replaced by its per-channel means, or by the mean image
    /// resized from another grid (resized to 256 or 320, centre 224 kept, as a resize-to-input rule would align it).
    /// Measured: per-channel 2.8e-2, resized via 256 4.0e-3; the resized image wins and is the default.
    /// </summary>
    [Fact]
    public void A_resized_mean_image_moves_the_features_less_than_the_per_channel_mean()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var rgb = cat(new[] { TestImages.Structured(3), TestImages.Random(1, seed: 11) });
        var exact = fixture.Model.Features(PretrainedModels.ResNet18Preprocess(rgb));
        var means = ResNetPreprocessing.Load(PretrainedFiles.ResNetPreprocessOnnx);
        var bgr = rgb.flip(1) * 255;
        var channel = fixture.Model.Features(bgr + means.NegChannelMean);
        double channelError = TestImages.RelativeError(channel, exact);
        output.WriteLine($"features vs exact preprocessing at 224: per-channel mean {channelError:E3}");
        foreach (long size in new long[] { 256, 320 })
        {
            long offset = (size - 224) / 2;
            var resized = nn.functional.interpolate(means.NegImage, new[] { size, size }, mode: InterpolationMode.Bilinear, align_corners: false)
                .narrow(2, offset, 224).narrow(3, offset, 224);
            double resizedError = TestImages.RelativeError(fixture.Model.Features(bgr + resized), exact);
            output.WriteLine($"  mean image resized 224→{size}, centre 224: {resizedError:E3}");
            Assert.True(resizedError < channelError, $"per-channel {channelError:E3}, resized via {size} {resizedError:E3}");
        }
        means.NegImage.Dispose();
        means.NegChannelMean.Dispose();
    }
}
