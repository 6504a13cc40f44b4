using System;
using Flora.Cli.Training;
using Flora.Internal;
using Flora.Comparison;
using static TorchSharp.torch;

namespace Flora.Cli.Experiments;

/// <summary>
/// The pretrained network a comparison fine-tunes: how to make a fresh copy of it, how a method attaches to it
/// through its generated members, and how it reads a batch.
/// </summary>
internal abstract class FineTuneModel : IDisposable
{
    /// <summary>The <c>--model</c> name of the MNIST-pretrained TinyConvNeXt (the default).</summary>
    public const string TinyConvNeXtName = "tinyconvnext";

    /// <summary>The <c>--model</c> name of the ImageNet-pretrained ResNet-18.</summary>
    public const string ResNet18Name = "resnet18";

    /// <summary>The <see cref="Description"/> of the TinyConvNeXt.</summary>
    public const string TinyConvNeXtDescription = "an MNIST-pretrained TinyConvNeXt";

    /// <summary>The <see cref="Description"/> of the ResNet-18.</summary>
    public const string ResNet18Description = "an ImageNet-pretrained ResNet-18";

    /// <summary>What the network is, for tables and reports, e.g. "an MNIST-pretrained TinyConvNeXt".</summary>
    public abstract string Description { get; }

    /// <summary>How a batch of the fine-tuning data becomes the network's input.</summary>
    public abstract InputTransform Input { get; }

    /// <summary>A fresh copy of the pretrained network on <paramref name="device"/>, in training mode; a new head is initialised from torch's current seed.</summary>
    public abstract nn.Module<Tensor, Tensor> Create(Device device);

    /// <summary>Attaches <paramref name="method"/> to <paramref name="model"/> (made by <see cref="Create"/>) as <paramref name="plan"/> says.</summary>
    public abstract FloraAttachment Attach(nn.Module<Tensor, Tensor> model, MethodPlan plan, FloraMethod method);

    /// <summary>Frees what the model keeps between runs.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees what the model keeps between runs.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }

    /// <summary>
    /// Attaches through the generated <c>AttachFlora</c> when no extra modules to save are named; otherwise the same
    /// generated targets and modules plus <paramref name="plan"/>'s.
    /// </summary>
    protected static FloraAttachment AttachGenerated(IFloraComposable model, nn.Module module, MethodPlan plan, FloraMethod method, Func<FloraAttachment> generated)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (plan.ModulesToSave.Count == 0) return generated();
        return FloraParts.Of(model).Attach(module, plan.Defaults, method, plan.ModulesToSave);
    }
}
