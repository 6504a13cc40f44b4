using static TorchSharp.torch;

namespace Flora.Cli.Examples;

/// <summary>
/// What an example trains: its network, how FLoRA and LoRA attach to it, its training loss and its test metric. The
/// images come as <c>[N, 1, 28, 28]</c> pixel values in [0, 1] with their labels.
/// </summary>
internal abstract class ExampleTask
{
    /// <summary>The subcommand's word, also the prefix of the files the example writes.</summary>
    public abstract string Name { get; }

    /// <summary>What the example does, in one line.</summary>
    public abstract string Description { get; }

    /// <summary>The test metric's name, e.g. "test MSE".</summary>
    public abstract string MetricName { get; }

    /// <summary>Whether a lower metric is better (an error) rather than a higher one (an accuracy).</summary>
    public abstract bool LowerIsBetter { get; }

    /// <summary>The metric as printed.</summary>
    public abstract string Format(double metric);

    /// <summary>A new network with fresh weights from torch's global generator.</summary>
    public abstract nn.Module<Tensor, Tensor> CreateNetwork();

    /// <summary>Attaches <paramref name="method"/> to the example's targets (LoRA at FLoRA's budget), the base frozen.</summary>
    public abstract FloraAttachment Attach(nn.Module<Tensor, Tensor> network, FloraMethod method);

    /// <summary>The mean training loss of one batch; <paramref name="noise"/> draws whatever the task draws per batch.</summary>
    public abstract Tensor Loss(nn.Module<Tensor, Tensor> network, Tensor pixels, Tensor labels, Generator noise);

    /// <summary>The metric summed over the images of one batch (the metric of a data set is the sum over its batches divided by its size).</summary>
    public abstract double Score(nn.Module<Tensor, Tensor> network, Tensor pixels, Tensor labels, Generator noise);
}
