using System;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// Where a layer lives in its parent module: the name it is registered under and, when the member or container
/// can hold a module of another type, a way to store the wrapper in it. TorchSharp's layer types are sealed, so a
/// member typed <c>Conv2d</c> (often <c>readonly</c>) keeps the base layer; its calls then reach the adapter through a
/// forward hook on the base layer, and the adapter is registered under the member's name so that
/// <c>parameters()</c>, <c>state_dict()</c>, <c>to()</c> and <c>train()</c> see it.
/// </summary>
internal sealed class ModuleSlot
{
    /// <summary>Describes the slot of <paramref name="layer"/>, registered as <paramref name="name"/> in <paramref name="parent"/>.</summary>
    /// <param name="parent">The module that owns the layer.</param>
    /// <param name="name">The name the layer is registered under in <paramref name="parent"/> (the member's name).</param>
    /// <param name="layer">The layer currently in the slot.</param>
    /// <param name="store">Stores a module into the member itself, when its type can hold the adapter's wrapper; null otherwise.</param>
    /// <param name="path">The layer's dotted path from the model's root (default: <paramref name="name"/>).</param>
    /// <param name="host">The wrapper the slot lives in, put into the model while it holds an adapter (a <see cref="FloraMultiheadAttention"/>'s projections).</param>
    public ModuleSlot(nn.Module parent, string name, nn.Module<Tensor, Tensor> layer, Action<nn.Module<Tensor, Tensor>>? store = null, string? path = null, ISlotHost? host = null)
    {
        ArgumentNullException.ThrowIfNull(parent);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(layer);
        Parent = parent;
        Name = name;
        Layer = layer;
        Store = store;
        Path = path ?? name;
        Host = host;
    }

    /// <summary>The wrapper the slot lives in (not in the model by itself), or null for a slot of the model's own.</summary>
    public ISlotHost? Host { get; }

    /// <summary>The module that owns the layer.</summary>
    public nn.Module Parent { get; }

    /// <summary>The name the layer is registered under in <see cref="Parent"/>.</summary>
    public string Name { get; }

    /// <summary>The layer's dotted path from the model's root; adapter files key tensors by it.</summary>
    public string Path { get; }

    /// <summary>The layer found in the slot.</summary>
    public nn.Module<Tensor, Tensor> Layer { get; }

    /// <summary>Stores a module into the member or container itself; null when it can only hold the base layer's type.</summary>
    public Action<nn.Module<Tensor, Tensor>>? Store { get; }

    /// <summary>Whether the parent keeps its children in TorchSharp's registration table (every module but <see cref="Sequential"/>).</summary>
    internal bool RegistersInParent => Parent is not Sequential;
}
