using System;
using System.Collections.Generic;
using System.Linq;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// One named adapter of an attachment (PEFT's adapter name): its method, its layer on each target it adapts (target
/// order; Pfeiffer's placement may leave targets out), the groups its alike layers build their weights in, its AdaLoRA
/// rank allocator, and — while it is not the active adapter — its own values of the modules to save (PEFT's
/// <c>ModulesToSaveWrapper</c> keeps one copy per adapter; here the active adapter's values live in the modules
/// themselves and the others' are parked aside).
/// </summary>
internal sealed class NamedAdapter : IDisposable
{
    private OriginalValues[]? _parkedModuleValues;

    /// <summary>
    /// The adapter <paramref name="name"/> of <paramref name="layers"/>; AdaLoRA's allocation follows <paramref name="adaLora"/>
    /// (its defaults when null).
    /// </summary>
    public NamedAdapter(string name, FloraMethod method, IReadOnlyList<AdapterLayer> layers, AdaLoraOptions? adaLora)
    {
        Name = name;
        Method = method;
        Layers = layers;
        if (method == FloraMethod.AdaLora)
            Allocator = new AdaLoraRankAllocator(layers.OfType<AdaLoraLayer>().ToArray(), adaLora ?? new AdaLoraOptions());
    }

    /// <summary>The adapter's name: <c>"default"</c> for the one attached first.</summary>
    public string Name { get; }

    /// <summary>The method of every layer of this adapter.</summary>
    public FloraMethod Method { get; }

    /// <summary>The adapter's layers, in target order.</summary>
    public IReadOnlyList<AdapterLayer> Layers { get; }

    /// <summary>Its alike layers' groups (<see cref="AdapterGroup"/>).</summary>
    public IReadOnlyList<AdapterGroup> Groups { get; private set; } = Array.Empty<AdapterGroup>();

    /// <summary>AdaLoRA's rank allocator of this adapter (null for other methods).</summary>
    public AdaLoraRankAllocator? Allocator { get; }

    /// <summary>Whether any layer's update sits in its base weight.</summary>
    public bool IsMerged => Layers.Any(l => l.IsMerged);

    /// <summary>The adapter's values of the modules to save while it is not active (null while active, or without modules to save).</summary>
    public IReadOnlyList<OriginalValues>? ParkedModuleValues => _parkedModuleValues;

    /// <summary>Groups the alike layers, whose weights are then built together once per forward of <paramref name="scope"/>'s model.</summary>
    public void FormGroups(ForwardScope scope) => Groups = AdapterGroup.Form(Layers, scope);

    /// <summary>Makes the adapter's own tensors trainable (the active adapters) or frozen (the others), as PEFT's <c>set_adapter</c> does.</summary>
    public void SetTrainable(bool trainable)
    {
        foreach (var layer in Layers)
            foreach (var (_, tensor) in layer.AdapterTensors)
                tensor.requires_grad = trainable;
    }

    /// <summary>Keeps the modules' current values aside as this adapter's (it stops being the active one).</summary>
    public void ParkModuleValues(IReadOnlyList<SavedModule> modules)
    {
        if (modules.Count == 0) return;
        _parkedModuleValues = modules.Select(m => new OriginalValues(m.Tensors)).ToArray();
    }

    /// <summary>Starts the adapter with the modules' values of attach time (PEFT copies the original module for a new adapter).</summary>
    public void ParkOriginalModuleValues(IReadOnlyList<SavedModule> modules)
    {
        if (modules.Count == 0) return;
        _parkedModuleValues = modules.Select(m => m.CopyOfOriginal()).ToArray();
    }

    /// <summary>Puts the adapter's parked values into the modules (it becomes the active one).</summary>
    public void UnparkModuleValues()
    {
        if (_parkedModuleValues is null) return;
        foreach (var values in _parkedModuleValues)
        {
            values.Restore();
            values.Dispose();
        }
        _parkedModuleValues = null;
    }

    /// <summary>Releases what the groups built in the forward that just ended.</summary>
    public void ReleaseGroups()
    {
        foreach (var group in Groups) group.Release();
    }

    /// <summary>Disposes the groups, the allocator and the parked values; the layers are the targets' to take out.</summary>
    public void Dispose()
    {
        foreach (var group in Groups) group.Dispose();
        Allocator?.Dispose();
        if (_parkedModuleValues is not null)
            foreach (var values in _parkedModuleValues) values.Dispose();
        _parkedModuleValues = null;
    }
}
