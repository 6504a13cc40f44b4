using System;
using System.Collections.Generic;
using System.Linq;

namespace Flora;

/// <summary>
/// Several named adapters on one base (PEFT's adapter names): every target holds each adapter's layer
/// (<see cref="AdaptedTarget"/>); the active ones compute, the others cost nothing and stay frozen.
/// </summary>
public sealed partial class FloraAttachment
{
    /// <summary>The name of the adapter attached first (PEFT's default adapter name).</summary>
    private const string DefaultAdapterName = AdapterNameRules.DefaultName;

    /// <summary>PEFT's name for "no adapter" in a mixed batch; no adapter may take it.</summary>
    private const string BaseModelName = AdapterNameRules.BaseModelName;

    private readonly IReadOnlyList<FloraTarget> _floraTargets;
    private readonly FloraModelOptions _options;
    private readonly List<AdaptedTarget> _targets;
    private readonly List<NamedAdapter> _named = new();
    private NamedAdapter[] _active = Array.Empty<NamedAdapter>();
    private AdapterLayer[] _activeLayers = Array.Empty<AdapterLayer>();
    private NamedAdapter[] _groupsToRelease = Array.Empty<NamedAdapter>(); // whose groups may have built in a forward: the active ones, or all in a mixed batch

    /// <summary>Every adapter's name, in the order they were added; the first is <c>"default"</c>.</summary>
    public IReadOnlyList<string> AdapterNames => _named.Select(n => n.Name).ToArray();

    /// <summary>The active adapters' names, in the order their contributions are added.</summary>
    public IReadOnlyList<string> ActiveAdapters => _active.Select(n => n.Name).ToArray();

    /// <summary>
    /// Adds the adapter <paramref name="name"/> of <paramref name="method"/> beside those attached, on the same targets and
    /// with its own copy of the modules to save (their values of attach time), as PEFT's <c>add_adapter</c>. It is created
    /// frozen and inactive: <see cref="SetAdapter"/> makes it the one that computes and trains. Settings a target does not
    /// set itself come from <paramref name="options"/> (those of the attachment when null). Refused, with nothing changed:
    /// a name in use or not usable as a folder name, while merged or disabled, and BitFit (it trains the base layers'
    /// own biases, which two adapters cannot share).
    /// </summary>
    public void AddAdapter(string name, FloraMethod method, FloraModelOptions? options = null)
    {
        EnsureAttached();
        EnsureEnabled("add an adapter");
        CheckNewName(name);
        if (IsMerged)
            throw new InvalidOperationException($"Cannot add the adapter '{name}' while adapters are merged: a new adapter is built on the base weights, which now hold a merged update. Call Unmerge() first.");
        CheckSharesLayers(name, method);
        options ??= _options;
        if (method == FloraMethod.AdaLora) options.AdaLora?.Validate();
        var adapters = CreateAdapters(_floraTargets, Creator(_floraTargets, options, method));
        Register(NewInactiveAdapter(name, method, adapters, options.AdaLora), adapters);
    }

    /// <summary>Makes <paramref name="name"/> the one active adapter (PEFT's <c>set_adapter</c>): it computes and trains, the others are frozen and cost nothing.</summary>
    public void SetAdapter(string name) => SetAdapters(new[] { name });

    /// <summary>
    /// Makes the adapters <paramref name="names"/> active together (PEFT's <c>set_adapter</c> with a list): each target
    /// computes its base output plus every active adapter's contribution, added in this order, and all of them train.
    /// Refused, with nothing changed: an unknown or repeated name, an empty list (use <see cref="Disable"/> to compute as
    /// the base model), switching while merged or disabled, and several adapters with modules to save (each module holds
    /// one adapter's copy at a time, as PEFT's <c>ModulesToSaveWrapper</c>).
    /// </summary>
    public void SetAdapters(IReadOnlyList<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        EnsureAttached();
        EnsureEnabled("switch adapters");
        if (names.Count == 0)
            throw new ArgumentException("Name at least one adapter to activate. To compute as the base model for a while, use Disable().", nameof(names));
        var repeated = names.GroupBy(n => n).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null)
            throw new ArgumentException($"The adapter '{repeated.Key}' is named {repeated.Count()} times; name each active adapter once.", nameof(names));
        var next = names.Select(Find).ToArray();
        if (IsMerged)
            throw new InvalidOperationException($"Cannot switch to {string.Join(", ", names.Select(n => $"'{n}'"))} while {string.Join(", ", _named.Where(n => n.IsMerged).Select(n => $"'{n.Name}'"))} " +
                                                "is merged: its update sits in the base weights, under every adapter. Call Unmerge() first.");
        if (next.Length > 1 && _savedModules.Count > 0)
            throw new InvalidOperationException($"Cannot activate {string.Join(", ", names.Select(n => $"'{n}'"))} together: the modules to save " +
                                                $"({string.Join(", ", _savedModules.Select(m => m.Path))}) hold one adapter's copy at a time, as PEFT's ModulesToSaveWrapper does. Activate one adapter.");
        Activate(next);
    }

    /// <summary>
    /// Deletes the adapter <paramref name="name"/> (PEFT's <c>delete_adapter</c>): its layers and its copy of the modules to
    /// save are disposed. When it was active the other active ones stay so, or, if it was the only active one, the first
    /// remaining adapter becomes active (as PEFT does). Refused, with nothing changed: an unknown name, the last adapter
    /// (<see cref="Detach"/> takes that out), and while merged or disabled.
    /// </summary>
    public void DeleteAdapter(string name)
    {
        EnsureAttached();
        EnsureEnabled("delete an adapter");
        var deleted = Find(name);
        if (_named.Count == 1)
            throw new InvalidOperationException($"'{name}' is the only adapter: deleting it would leave nothing attached. Call Detach() (DetachFlora()) to take it out and get the base model back.");
        if (IsMerged)
            throw new InvalidOperationException($"Cannot delete the adapter '{name}' while adapters are merged: their updates sit in the base weights. Call Unmerge() first.");
        var stillActive = _active.Where(a => !ReferenceEquals(a, deleted)).ToArray();
        Activate(stillActive.Length > 0 ? stillActive : new[] { _named.First(n => !ReferenceEquals(n, deleted)) });
        foreach (var target in _targets)
        {
            if (target.Remove(deleted) is AdapterLayer layer)
            {
                layer.OnDetach(keepUpdate: false);
                Dispose(layer);
            }
        }
        deleted.Dispose();
        _named.Remove(deleted);
    }

    /// <summary>The adapter <paramref name="name"/>, or an error naming the adapters there are.</summary>
    private NamedAdapter Find(string name) =>
        _named.FirstOrDefault(n => n.Name == name)
        ?? throw new KeyNotFoundException($"No adapter is named '{name}'. Adapters: {string.Join(", ", _named.Select(n => $"'{n.Name}'"))}. " +
                                          $"Add it with AddAdapter(\"{name}\", method) or LoadAdapter(path, \"{name}\").");

    /// <summary>Throws when <paramref name="name"/> cannot name a new adapter: empty, not a folder name, reserved, or in use.</summary>
    private void CheckNewName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (AdapterNameRules.WhyUnusable(name) is { } why)
            throw new ArgumentException($"'{name}' is not a usable adapter name: {why}. Choose another, e.g. \"task_b\".", nameof(name));
        if (_named.Any(n => n.Name == name))
            throw new ArgumentException($"An adapter named '{name}' is already attached (adapters: {string.Join(", ", _named.Select(n => $"'{n.Name}'"))}). " +
                                        $"Choose another name, or DeleteAdapter(\"{name}\") first.", nameof(name));
    }

    /// <summary>Throws when an adapter of <paramref name="method"/> cannot share its layers with those attached (BitFit, on either side).</summary>
    private void CheckSharesLayers(string name, FloraMethod method)
    {
        if (method == FloraMethod.BitFit || _named.Any(n => n.Method == FloraMethod.BitFit))
            throw new ArgumentException($"Cannot add the adapter '{name}' ({method}) beside {string.Join(", ", _named.Select(n => $"'{n.Name}' ({n.Method})"))}: BitFit trains the base " +
                                        "layers' own biases in place, so a BitFit adapter cannot share its layers with another adapter. Attach BitFit alone, on its own model.", nameof(method));
    }

    /// <summary>A new named adapter of <paramref name="adapters"/>: frozen, with the modules to save's values of attach time; not yet registered.</summary>
    private NamedAdapter NewInactiveAdapter(string name, FloraMethod method, IReadOnlyList<(FloraTarget Target, AdapterLayer Adapter)> adapters, AdaLoraOptions? adaLora)
    {
        var named = new NamedAdapter(name, method, adapters.Select(a => a.Adapter).ToArray(), adaLora);
        named.SetTrainable(false);
        named.ParkOriginalModuleValues(_savedModules);
        return named;
    }

    /// <summary>Hands <paramref name="named"/>'s layers to their targets and lists it (inactive until set).</summary>
    private void Register(NamedAdapter named, IReadOnlyList<(FloraTarget Target, AdapterLayer Adapter)> adapters)
    {
        foreach (var (target, adapter) in adapters)
            _targets[IndexOfTarget(target)].Add(named, adapter);
        if (_forwards is not null) named.FormGroups(_forwards); // the first adapter is grouped once the scope exists
        _named.Add(named);
    }

    private int IndexOfTarget(FloraTarget target)
    {
        for (int i = 0; i < _floraTargets.Count; i++)
            if (ReferenceEquals(_floraTargets[i], target)) return i;
        throw new InvalidOperationException($"'{target.Slot.Path}' is not a target of this attachment.");
    }

    /// <summary>
    /// Makes <paramref name="next"/> the active adapters: the modules to save take the incoming adapter's values (the
    /// outgoing one's are parked), every slot holds what they compute, and their tensors train while the others' are frozen.
    /// The check that every adapter runs starts again for them.
    /// </summary>
    private void Activate(NamedAdapter[] next)
    {
        if (_active.Length > 0 && !ReferenceEquals(_active[0], next[0]))
        {
            _active[0].ParkModuleValues(_savedModules);
            next[0].UnparkModuleValues();
        }
        foreach (var target in _targets) target.Activate(next);
        foreach (var named in _named) named.SetTrainable(next.Contains(named));
        _active = next;
        _groupsToRelease = next;
        _activeLayers = next.SelectMany(n => n.Layers).ToArray();
        _everyAdapterRan = false;
        _modelCalls = 0;
    }
}
