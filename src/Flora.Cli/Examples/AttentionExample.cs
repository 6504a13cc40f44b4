using static TorchSharp.torch;

namespace Flora.Cli.Examples;

/// <summary>
/// <c>flora example attention</c>: a <see cref="PatchTransformer"/> learns to classify MNIST digits read as patch
/// tokens, then FLoRA or LoRA adapters on both embeddings, the multi-head attention, the residual Linear and the head
/// (attached by name with <see cref="FloraInjector"/>) learn Fashion-MNIST's ten classes. Metric: test accuracy.
/// </summary>
internal sealed class AttentionExample : ExampleTask
{
    public override string Name => "attention";

    public override string Description => "a transformer (Embedding, MultiheadAttention) classifying MNIST digits as 49 patch tokens, adapted to Fashion-MNIST";

    public override string MetricName => "test accuracy";

    public override bool LowerIsBetter => false;

    public override string Format(double metric) => metric.ToString("P1", System.Globalization.CultureInfo.InvariantCulture);

    public override nn.Module<Tensor, Tensor> CreateNetwork() => new PatchTransformer();

    public override FloraAttachment Attach(nn.Module<Tensor, Tensor> network, FloraMethod method) =>
        FloraInjector.Attach(network, new FloraConfig
        {
            TargetModules = PatchTransformer.TargetModules,
            Defaults = new FloraModelOptions { Rank = 4, Scale = 4 },
        }, method);

    public override Tensor Loss(nn.Module<Tensor, Tensor> network, Tensor pixels, Tensor labels, Generator noise)
    {
        using var ids = PatchTransformer.Tokenise(pixels);
        return nn.functional.cross_entropy(network.call(ids), labels);
    }

    public override double Score(nn.Module<Tensor, Tensor> network, Tensor pixels, Tensor labels, Generator noise)
    {
        using var scope = NewDisposeScope();
        var predicted = network.call(PatchTransformer.Tokenise(pixels)).argmax(1);
        return predicted.eq(labels).sum().item<long>();
    }
}
