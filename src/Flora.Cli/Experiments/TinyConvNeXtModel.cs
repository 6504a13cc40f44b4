using Flora.Cli.Training;
using Flora.Data;
using Flora.Comparison;
using static TorchSharp.torch;

namespace Flora.Cli.Experiments;

/// <summary>The default network: the MNIST-pretrained <see cref="TinyConvNeXt"/> cached at <see cref="BasePath"/>.</summary>
internal sealed class TinyConvNeXtModel : FineTuneModel
{
    /// <summary>The base weights at <paramref name="basePath"/> of a network of width <paramref name="width"/>.</summary>
    public TinyConvNeXtModel(string basePath, int width)
    {
        BasePath = basePath;
        Width = width;
    }

    /// <summary>The cached base weights.</summary>
    public string BasePath { get; }

    /// <summary>Channels of the network's first stage.</summary>
    public int Width { get; }

    /// <inheritdoc/>
    public override string Description => TinyConvNeXtDescription;

    /// <inheritdoc/>
    public override InputTransform Input { get; } = InputTransform.Normalised(Normalisation.FashionMnist);

    /// <inheritdoc/>
    public override nn.Module<Tensor, Tensor> Create(Device device) => BaseModelStore.Load(BasePath, Width, device);

    /// <inheritdoc/>
    public override FloraAttachment Attach(nn.Module<Tensor, Tensor> model, MethodPlan plan, FloraMethod method)
    {
        var network = (TinyConvNeXt)model;
        return AttachGenerated(network, network, plan, method, () => network.AttachFlora(method, plan.Defaults).Attachment);
    }
}
