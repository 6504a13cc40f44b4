using System;
using System.Collections.Generic;
using Flora.Cli.Training;
using Flora.Pretrained;
using Flora.Comparison;
using TorchSharp;
using static TorchSharp.torch;

namespace Flora.Cli.Experiments;

/// <summary>
/// The ImageNet-pretrained ResNet-18 of <see cref="PretrainedModels.ResNet18"/> with a new 10-class head. The ONNX
/// weights are read once, on first use, and copied into every fresh copy; the head of each copy is initialised anew.
/// </summary>
internal sealed class ResNet18Model : FineTuneModel
{
    /// <summary>The number of classes of the fine-tuning data (Fashion-MNIST's garments or MNIST's digits).</summary>
    public const int Classes = 10;

    private readonly Lazy<Dictionary<string, Tensor>> _pretrained;

    /// <summary>Fine-tunes on images resized to <paramref name="resolution"/>² (a positive multiple of 32).</summary>
    public ResNet18Model(int resolution)
    {
        Input = new ResNetInput(resolution);
        _pretrained = new Lazy<Dictionary<string, Tensor>>(LoadPretrained);
    }

    /// <inheritdoc/>
    public override string Description => ResNet18Description;

    /// <inheritdoc/>
    public override InputTransform Input { get; }

    /// <inheritdoc/>
    public override nn.Module<Tensor, Tensor> Create(Device device)
    {
        var model = new ResNet18(Classes); // fc: PyTorch's default initialisation from torch's current seed
        try
        {
            using (no_grad())
            {
                foreach (var (key, tensor) in model.state_dict())
                {
                    if (_pretrained.Value.TryGetValue(key, out var weights)) tensor.copy_(weights);
                }
            }
            model.to(device);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public override FloraAttachment Attach(nn.Module<Tensor, Tensor> model, MethodPlan plan, FloraMethod method)
    {
        var network = (ResNet18)model;
        return AttachGenerated(network, network, plan, method, () => network.AttachFlora(method, plan.Defaults).Attachment);
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing && _pretrained.IsValueCreated)
        {
            foreach (var tensor in _pretrained.Value.Values) tensor.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <summary>Every weight and buffer of the ONNX network except the ImageNet head (<c>fc</c>), as detached copies.</summary>
    private static Dictionary<string, Tensor> LoadPretrained()
    {
        using var model = PretrainedModels.ResNet18(Classes);
        var weights = new Dictionary<string, Tensor>();
        foreach (var (key, tensor) in model.state_dict())
        {
            if (!key.StartsWith("fc.", StringComparison.Ordinal)) weights[key] = tensor.detach().clone();
        }
        return weights;
    }
}
