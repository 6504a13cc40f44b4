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
    private readonly Action? _removeHook;

    private Injection(ModuleSlot slot, nn.Module<Tensor, Tensor> wrapper, Action? removeHook)
    {
        Slot = slot;
        Wrapper = wrapper;
        _removeHook = removeHook;
    }

    public ModuleSlot Slot { get; }

    public nn.Module<Tensor, Tensor> Wrapper { get; }

    /// <summary>Routes the slot's calls through <paramref name="adapter"/> and registers its wrapper under the slot's name.</summary>
    public static Injection Inject(ModuleSlot slot, nn.Module<Tensor, Tensor> wrapper, IFloraAdapter adapter)
    {
        Action? removeHook = null;
        if (slot.Store is { } store)
        {
            store(wrapper);
        }
        else
        {
            // The member keeps the base layer: its call() now returns the adapted output.
            var hook = slot.Layer.register_forward_hook((_, input, output) => adapter.Adapt(input, output));
            removeHook = hook.remove;
        }
        if (slot.RegistersInParent)
            Reregister(slot.Parent, slot.Name, wrapper);
        return new Injection(slot, wrapper, removeHook);
    }

    /// <summary>Puts the base layer back in its slot and its registration back in its place.</summary>
    public void Remove()
    {
        _removeHook?.Invoke();
        Slot.Store?.Invoke(Slot.Layer);
        if (Slot.RegistersInParent)
            Reregister(Slot.Parent, Slot.Name, Slot.Layer);
    }

    /// <summary>Replaces the child registered as <paramref name="name"/> while keeping the order of the parent's children.</summary>
    private static void Reregister(nn.Module parent, string name, nn.Module module)
    {
        var children = parent.named_children().ToList();
        int index = children.FindIndex(c => c.name == name);
        if (index < 0)
        {
            parent.register_module(name, module);
            return;
        }
        for (int i = index; i < children.Count; i++)
            parent.register_module(children[i].name, null!);
        parent.register_module(name, module);
        for (int i = index + 1; i < children.Count; i++)
            parent.register_module(children[i].name, children[i].module);
    }
}
