using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// One target layer of an attachment and every named adapter's layer on it: the one place that decides what its slot
/// holds. With one active adapter that has a layer here, the slot holds that layer itself (the single-adapter path, with
/// no cost for the others); with several, an <see cref="ActiveAdapterSum"/> of them; with none, the base layer alone.
/// Inactive adapters' layers stay outside the model and cost nothing.
/// </summary>
internal sealed class AdaptedTarget
{
    private readonly List<(NamedAdapter Owner, AdapterLayer Layer)> _layers = new();
    private Injection? _injection;
    private AdapterLayer[] _active = Array.Empty<AdapterLayer>();

    public AdaptedTarget(ModuleSlot slot) => Slot = slot;

    /// <summary>The base layer's slot.</summary>
    public ModuleSlot Slot { get; }

    /// <summary>What the slot holds now in place of its base layer (an adapter's layer, a sum of them), or null.</summary>
    public AdapterLayer? Injected => _injection?.Wrapper;

    /// <summary>Whether no named adapter has a layer here any more.</summary>
    public bool IsEmpty => _layers.Count == 0;

    /// <summary>Adds <paramref name="owner"/>'s layer; it takes effect at the next <see cref="Activate"/>.</summary>
    public void Add(NamedAdapter owner, AdapterLayer layer) => _layers.Add((owner, layer));

    /// <summary>Forgets <paramref name="owner"/>'s layer (after an <see cref="Activate"/> without it); returns it, or null.</summary>
    public AdapterLayer? Remove(NamedAdapter owner)
    {
        int index = _layers.FindIndex(l => ReferenceEquals(l.Owner, owner));
        if (index < 0) return null;
        var layer = _layers[index].Layer;
        _layers.RemoveAt(index);
        return layer;
    }

    /// <summary>
    /// Puts in the slot what <paramref name="active"/> (in this order) computes here; nothing changes when that is what it
    /// holds already. A layer coming in follows the base layer's device and the model's train/eval mode.
    /// </summary>
    public void Activate(IReadOnlyList<NamedAdapter> active)
    {
        var layers = new List<AdapterLayer>();
        foreach (var adapter in active)
            foreach (var (owner, layer) in _layers)
                if (ReferenceEquals(owner, adapter)) layers.Add(layer);
        if (layers.SequenceEqual(_active)) return;
        TakeOut();
        _active = layers.ToArray();
        if (_active.Length == 0) return;
        foreach (var layer in _active) Follow(layer);
        _injection = Injection.Inject(Slot, _active.Length == 1 ? _active[0] : InModelsMode(new ActiveAdapterSum(Slot.Path, Slot.Layer, _active)));
    }

    /// <summary>Gives the slot its base layer back (the layers stay the owners' to dispose).</summary>
    public void TakeOut()
    {
        if (_injection is null) return;
        _injection.Remove();
        var wrapper = _injection.Wrapper;
        if (!_layers.Exists(l => ReferenceEquals(l.Layer, wrapper)))
        {
            wrapper.ReleaseBaseLayer(); // a sum or a mixed batch of the layers: its own, the layers stay
            wrapper.Dispose();
        }
        _injection = null;
        _active = Array.Empty<AdapterLayer>();
    }

    /// <summary>
    /// Puts in the slot a mixed batch of <paramref name="rows"/> (PEFT's <c>adapter_names</c>): each named adapter's
    /// row indices; the rows of adapters without a layer here, and the others, keep the base output. <see cref="Activate"/>
    /// (after <see cref="TakeOut"/>) ends it.
    /// </summary>
    public void EnterMixedBatch(IReadOnlyList<(NamedAdapter Adapter, long[] Rows)> rows, long batchSize)
    {
        TakeOut();
        var device = Slot.Layer.parameters().FirstOrDefault()?.device ?? torch.CPU;
        var groups = new List<(AdapterLayer, Tensor)>();
        foreach (var (adapter, indices) in rows)
        {
            foreach (var (owner, layer) in _layers)
            {
                if (!ReferenceEquals(owner, adapter)) continue;
                Follow(layer);
                groups.Add((layer, torch.tensor(indices, device: device)));
            }
        }
        _injection = Injection.Inject(Slot, InModelsMode(new MixedBatchAdapters(Slot.Path, Slot.Layer, groups.ToArray(), batchSize)));
    }

    /// <summary>Switches what the slot computes on or off (<see cref="FloraAttachment.Disable"/>): the wrapper and the active layers.</summary>
    public void SetEnabled(bool enabled)
    {
        _injection?.Wrapper.SetEnabled(enabled);
        foreach (var layer in _active) layer.SetEnabled(enabled);
    }

    /// <summary>A wrapper made now (TorchSharp modules start in train mode) in the mode of the base layer, which follows the model's.</summary>
    private AdapterLayer InModelsMode(AdapterLayer wrapper)
    {
        if (wrapper.training != Slot.Layer.training) wrapper.train(Slot.Layer.training);
        return wrapper;
    }

    /// <summary>Moves <paramref name="layer"/> to its base weight's device (an inactive layer did not move with the model) and into the model's mode.</summary>
    private void Follow(AdapterLayer layer)
    {
        var tensors = layer.AdapterTensors;
        var weight = Slot.Layer.parameters().FirstOrDefault();
        if (tensors.Count > 0 && weight is not null && (tensors[0].Tensor.device_type, tensors[0].Tensor.device_index) != (weight.device_type, weight.device_index))
            layer.to(weight.device);
        if (layer.training != Slot.Layer.training) layer.train(Slot.Layer.training);
    }
}
