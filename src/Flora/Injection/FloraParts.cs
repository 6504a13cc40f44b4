using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Linq;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// Implemented by the source generator on every annotated model: lists the model's targets, modules to save and nested
/// annotated models into a <see cref="FloraParts"/>, so that a model built of annotated blocks attaches as one.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public interface IFloraComposable
{
    /// <summary>Adds this model's targets, modules to save and nested models to <paramref name="parts"/>.</summary>
    void DescribeFloraParts(FloraParts parts);
}

/// <summary>
/// What generated <c>AttachFlora()</c> collects before attaching: the targets and modules to save of a model and of the
/// annotated models nested in it (members typed as one, or module lists of them), each with its dotted path from the
/// root as TorchSharp registers it (a <c>[ComponentName]</c> included). Generated code fills it; users need not.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class FloraParts
{
    private readonly List<FloraTarget> _targets = new();
    private readonly List<ModuleToSave> _modulesToSave = new();
    private readonly Stack<string> _prefix = new();
    private readonly HashSet<nn.Module> _described = new(ReferenceEqualityComparer.Instance);

    /// <summary>The targets, in declaration order, nested models where they are declared.</summary>
    public IReadOnlyList<FloraTarget> Targets => _targets;

    /// <summary>The modules to save, in declaration order.</summary>
    public IReadOnlyList<ModuleToSave> ModulesToSave => _modulesToSave;

    /// <summary>The parts of <paramref name="model"/>, from its root.</summary>
    public static FloraParts Of(IFloraComposable model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var parts = new FloraParts();
        model.DescribeFloraParts(parts);
        return parts;
    }

    /// <summary>Adds the target <paramref name="member"/> of <paramref name="parent"/>.</summary>
    /// <param name="parent">The model declaring the member.</param>
    /// <param name="member">The member's name, for messages and when the layer is not registered.</param>
    /// <param name="layer">The member's layer.</param>
    /// <param name="options">What the target sets itself.</param>
    /// <param name="store">Stores the adapter's wrapper into the member, when its type can hold it.</param>
    public void Target(nn.Module parent, string member, nn.Module<Tensor, Tensor>? layer, FloraTargetOptions options, Action<nn.Module<Tensor, Tensor>>? store = null)
    {
        ArgumentNullException.ThrowIfNull(parent);
        if (layer is null)
            throw new InvalidOperationException($"{parent.GetType().Name}.{member} is null: create the layer before calling AttachFlora().");
        string name = RegisteredName(parent, layer, member);
        _targets.Add(new FloraTarget(new ModuleSlot(parent, name, layer, store, PathOf(PathSegment(name, member))), options));
    }

    /// <summary>Adds the module to save <paramref name="member"/> of <paramref name="parent"/>.</summary>
    public void ModuleToSave(nn.Module parent, string member, nn.Module? module)
    {
        ArgumentNullException.ThrowIfNull(parent);
        if (module is null)
            throw new InvalidOperationException($"{parent.GetType().Name}.{member} is null: create the module before calling AttachFlora().");
        _modulesToSave.Add(new ModuleToSave(PathOf(PathSegment(RegisteredName(parent, module, member), member)), module));
    }

    /// <summary>
    /// Adds the parts of the annotated model in <paramref name="member"/> of <paramref name="parent"/>, or of every annotated
    /// model in it when it is a container (a module list); nothing when it is null.
    /// </summary>
    public void Nested(nn.Module parent, string member, nn.Module? child)
    {
        ArgumentNullException.ThrowIfNull(parent);
        if (child is null || !_described.Add(child)) return; // a model reached through two members (a field and a property) counts once
        _prefix.Push(PathSegment(RegisteredName(parent, child, member), member));
        if (child is IFloraComposable composable)
        {
            composable.DescribeFloraParts(this);
        }
        else
        {
            foreach (var (name, item) in child.named_children())
            {
                if (item is not IFloraComposable inner || !_described.Add(item)) continue;
                _prefix.Push(name);
                inner.DescribeFloraParts(this);
                _prefix.Pop();
            }
        }
        _prefix.Pop();
    }

    /// <summary>
    /// A member's segment of the path: its registered name (a <c>[ComponentName]</c> included), or the member's own name
    /// where TorchSharp registered an auto-property under its compiler-made backing field (<c>&lt;Stem&gt;k__BackingField</c>).
    /// </summary>
    private static string PathSegment(string registeredName, string member) => registeredName.StartsWith('<') ? member : registeredName;

    private string PathOf(string name) => _prefix.Count == 0 ? name : string.Join(".", _prefix.Reverse()) + "." + name;

    /// <summary>The name <paramref name="child"/> is registered under in <paramref name="parent"/> (found by identity), else the member's name.</summary>
    private static string RegisteredName(nn.Module parent, nn.Module child, string member)
    {
        foreach (var (name, module) in parent.named_children())
        {
            if (ReferenceEquals(module, child)) return name;
            if (module is IFloraAdapter adapter && ReferenceEquals(adapter.BaseLayer, child)) return name;
        }
        return member;
    }
}
