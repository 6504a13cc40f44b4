using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// The layer types adapters can wrap (PEFT's custom modules): TorchSharp's Linear, Conv1d/2d/3d and ConvTranspose1d/2d/3d built in, plus any
/// type registered here. A registered type describes how it computes through a <see cref="LayerGeometry"/> factory
/// (<see cref="LayerGeometry.Linear"/>, <see cref="LayerGeometry.Convolution"/>): its forward must equal that geometry's
/// call with its weight and bias. It then takes FLoRA, LoRA, DoRA, BitFit, Houlsby and Pfeiffer adapters, by name (<see cref="FloraInjector"/>)
/// or loaded from files. Registered types are matched before the built-in ones, most recent first.
/// </summary>
public static class FloraLayerTypes
{
    private static readonly LayerTypeEntry[] BuiltIn = FloraLayerKinds.Rows.Select(LayerTypeEntry.BuiltIn).ToArray();
    private static readonly object Gate = new();
    private static LayerTypeEntry[] _entries = BuiltIn;

    /// <summary>
    /// Registers <typeparamref name="TLayer"/>: <paramref name="geometry"/> tells how one of its instances computes
    /// (its weight <c>[out, in/groups, k…]</c> or <c>[out, in]</c>, its bias, and for a convolution how it slides).
    /// Registering a type again replaces its earlier registration. A transposed convolution describes itself with
    /// <see cref="LayerGeometry.TransposedConvolution"/> (weight <c>[in, out/groups, k…]</c>).
    /// </summary>
    public static void Register<TLayer>(Func<TLayer, LayerGeometry> geometry) where TLayer : nn.Module<Tensor, Tensor>
    {
        ArgumentNullException.ThrowIfNull(geometry);
        lock (Gate)
            _entries = new[] { LayerTypeEntry.Custom(geometry) }.Concat(_entries.Where(e => e.BaseType != typeof(TLayer))).ToArray();
    }

    /// <summary>Removes the registration of <typeparamref name="TLayer"/>; returns whether there was one. Built-in types stay.</summary>
    public static bool Unregister<TLayer>() where TLayer : nn.Module<Tensor, Tensor>
    {
        if (BuiltIn.Any(e => e.BaseType == typeof(TLayer))) return false;
        lock (Gate)
        {
            int before = _entries.Length;
            _entries = _entries.Where(e => e.BaseType != typeof(TLayer)).ToArray();
            return _entries.Length != before;
        }
    }

    /// <summary>
    /// The adapter of <paramref name="method"/> that this table gives <paramref name="layer"/>, built alone (PEFT's
    /// <c>dispatch_default</c>): FLoRA with <paramref name="model"/>'s and <paramref name="target"/>'s settings, LoRA and
    /// DoRA at the rank they set or else matched to that FLoRA budget, BitFit on the bias, Houlsby and Pfeiffer a bottleneck
    /// after it at the width they set or else matched to that budget. The caller freezes the base
    /// layer's parameters and trains the adapter's tensors; <see cref="FloraInjector"/> does both for a whole model.
    /// Throws, naming <paramref name="name"/> and the supported types, for a layer of no registered type.
    /// </summary>
    public static AdapterLayer CreateAdapter(FloraMethod method, string name, nn.Module<Tensor, Tensor> layer,
        FloraModelOptions? model = null, FloraTargetOptions? target = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(layer);
        return AdapterDispatch.Create(method, name, layer, model ?? new FloraModelOptions(), target ?? FloraTargetOptions.Inherit);
    }

    /// <summary>The names of the adaptable layer types, registered ones first.</summary>
    public static IReadOnlyList<string> Names => _entries.Select(e => e.BaseType.Name).ToArray();

    /// <summary>The first row whose type <paramref name="layer"/> is, or null.</summary>
    internal static LayerTypeEntry? Find(nn.Module layer)
    {
        foreach (var entry in _entries)
            if (entry.BaseType.IsInstanceOfType(layer)) return entry;
        return null;
    }
}
