using Xunit.Abstractions;

namespace Flora.Pretrained.Tests;

/// <summary>The TorchSharp network against onnxruntime's run of the original ResNet18.onnx.</summary>
[Collection(PretrainedCollection.Name)]
public sealed class FeaturesTests(PretrainedFixture fixture, ITestOutputHelper output)
{
    private const double Tolerance = 1e-4;

    [Fact]
    public void Features_of_structured_images_equal_onnxruntime()
    {
        using var scope = NewDisposeScope();
        var input = PretrainedModels.ResNet18Preprocess(TestImages.Structured(3));
        AssertMatchesReference(input, "structured");
    }

    [Fact]
    public void Features_of_random_inputs_equal_onnxruntime()
    {
        using var scope = NewDisposeScope();
        var input = PretrainedModels.ResNet18Preprocess(TestImages.Random(2, seed: 7));
        AssertMatchesReference(input, "random");
    }

    [Fact]
    public void Forward_is_fc_of_the_features()
    {
        using var scope = NewDisposeScope();
        var input = PretrainedModels.ResNet18Preprocess(TestImages.Structured(2));
        using var noGrad = no_grad();
        var logits = fixture.Model.call(input);
        Assert.Equal(new long[] { 2, 1000 }, logits.shape);
        var expected = nn.functional.linear(fixture.Model.Features(input), fixture.Model.Fc.weight!, fixture.Model.Fc.bias);
        Assert.True(TestImages.RelativeError(logits, expected) < 1e-6);
    }

    /// <summary>
    /// At 256×256 (a multiple of 32, so every stride-2 layer sees an even size) the original graph's asymmetric padding
    /// and the network's symmetric padding agree: its 7×7 average pool then gives 2×2 maps, compared with the network's
    /// last stage pooled the same way.
    /// </summary>
    [Fact]
    public void Padding_agrees_with_the_original_graph_at_256()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var reference = OnnxReference.ResNet18(anySize: true);
        var input = PretrainedModels.ResNet18Preprocess(TestImages.Structured(2, size: 256));
        var model = fixture.Model;
        var x = nn.functional.max_pool2d(nn.functional.relu(model.Bn1.call(model.Conv1.call(input))), new long[] { 3, 3 }, new long[] { 2, 2 }, new long[] { 1, 1 });
        foreach (var stage in model.Stages)
            foreach (var block in stage)
                x = block.call(x);
        var pooled = nn.functional.avg_pool2d(x, new long[] { 7, 7 }, new long[] { 1, 1 });
        var expected = reference.Run(input);
        Assert.Equal(new long[] { 2, 512, 2, 2 }, expected.shape);
        double error = TestImages.RelativeError(pooled, expected);
        output.WriteLine($"256×256: max |Δ| / max |onnx| = {error:E3}");
        Assert.True(error < Tolerance, $"relative error {error:E3}");
    }

    private void AssertMatchesReference(Tensor input, string what)
    {
        using var noGrad = no_grad();
        var features = fixture.Model.Features(input);
        var reference = fixture.Reference.Run(input);
        Assert.Equal(new long[] { input.shape[0], 512, 1, 1 }, reference.shape);
        Assert.Equal(new long[] { input.shape[0], 512 }, features.shape);
        double error = TestImages.RelativeError(features, reference.flatten(1));
        output.WriteLine($"{what}: batch {input.shape[0]}, max |Δ| / max |onnx| = {error:E3}, max |onnx| = {reference.abs().max().ToDouble():F3}");
        Assert.True(error < Tolerance, $"{what}: relative error {error:E3} ≥ {Tolerance:E0}");
    }
}
