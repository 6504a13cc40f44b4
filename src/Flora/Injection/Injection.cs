using System;
using System.Linq;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// The one injection mechanism: puts an adapter's wrapper in a layer's slot and takes it out again, leaving the
/// parent exactly as it was (same base layer object, same registration order).
/// Used by the generated <c>AttachFlora()</c> (slots built from the members themselves) and by
/// <see cref="FloraInjector"/> (slots found by name).
/// </summary>
internal sealed class Injection
{
    private readonly HookTransport? _hooks;

    private readonly string? _registeredName;

    private Injection(ModuleSlot slot, AdapterLayer wrapper, HookTransport? hooks, string? registeredName)
    {
        Slot = slot;
        Wrapper = wrapper;
        _hooks = hooks;
        _registeredName = registeredName;
    }

    public ModuleSlot Slot { get; }

    public AdapterLayer Wrapper { get; }

    /// <summary>Routes the slot's calls through <paramref name="adapter"/> and registers it under the slot's name.</summary>
    public static Injection Inject(ModuleSlot slot, AdapterLayer adapter)
    {
        HookTransport? hooks = null;
        if (slot.Store is { } store)
            store(adapter);
        else
            hooks = new HookTransport(slot.Layer, adapter); // the member keeps the base layer: its call() now returns the adapted output
        string? registered = null;
        if (slot.RegistersInParent)
            registered = Reregister(slot.Parent, slot.Layer, slot.Name, adapter);
        slot.Host?.Acquire();
        return new Injection(slot, adapter, hooks, registered);
    }

    /// <summary>Puts the base layer back in its slot and its registration back in its place.</summary>
    public void Remove()
    {
        _hooks?.Dispose();
        Slot.Store?.Invoke(Slot.Layer);
        if (_registeredName is not null)
            Reregister(Slot.Parent, Wrapper, _registeredName, Slot.Layer);
        Slot.Host?.Release();
    }

    /// <summary>
    /// Replaces the registration of <paramref name="current"/> (found by identity: TorchSharp registers members under
    /// their field name, <c>[ComponentName]</c> or an auto-property's backing field) by <paramref name="replacement"/>,
    /// keeping the order of the parent's children. Registers under <paramref name="fallbackName"/> when
    /// <paramref name="current"/> is not registered. Returns the name used.
    /// </summary>
    internal static string Reregister(nn.Module parent, nn.Module current, string fallbackName, nn.Module replacement)
    {
        var children = parent.named_children().ToList();
        int index = ModuleTree.FindChild(children, module => ReferenceEquals(module, current)).Index;
        if (index < 0)
        {
            parent.register_module(fallbackName, replacement);
            return fallbackName;
        }
        for (int i = index; i < children.Count; i++)
            parent.register_module(children[i].name, null!);
        parent.register_module(children[index].name, replacement);
        for (int i = index + 1; i < children.Count; i++)
            parent.register_module(children[i].name, children[i].module);
        return children[index].name;
    }
}
