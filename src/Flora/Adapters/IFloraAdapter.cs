using System.Collections.Generic;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>What every adapter (FLoRA, LoRA, DoRA, BitFit, Houlsby, Pfeiffer) offers, whatever its method.</summary>
public interface IFloraAdapter
{
    /// <summary>The adapted layer's path in the model, e.g. <c>conv1</c> or <c>blocks.0.pw1</c>.</summary>
    string Name { get; }

    /// <summary>The adaptation method.</summary>
    FloraMethod Method { get; }

    /// <summary>The frozen base layer this adapter wraps.</summary>
    nn.Module<Tensor, Tensor> BaseLayer { get; }

    /// <summary>The adapter's own trainable tensors with their keys in adapter files (e.g. <c>core</c>, <c>factor.out</c>).</summary>
    IReadOnlyList<(string Key, Parameter Tensor)> AdapterTensors { get; }

    /// <summary>The base layer's type and weight shape, the ranks and the scale, as adapter files record them.</summary>
    AdapterSpec Spec { get; }

    /// <summary>Number of trainable scalars.</summary>
    long TrainableParameters { get; }

    /// <summary>Whether the update is currently merged into the base weight.</summary>
    bool IsMerged { get; }

    /// <summary>A short description of the adapter's shape and ranks for reports, e.g. <c>r=(16,1,2,2) s=0.4</c>.</summary>
    string Describe();

    /// <summary>The adapted output given the input and the base layer's output for it.</summary>
    Tensor Adapt(Tensor input, Tensor baseOutput);

    /// <summary>
    /// Adds the update into the base weight; the forward then costs exactly the base layer's. A Houlsby or Pfeiffer
    /// adapter cannot be merged and throws <see cref="System.InvalidOperationException"/> naming its method.
    /// </summary>
    void Merge();

    /// <summary>Subtracts a merged update from the base weight again.</summary>
    void Unmerge();
}
