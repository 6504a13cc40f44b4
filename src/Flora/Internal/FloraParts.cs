using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Linq;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora.Internal;

/// <summary>
/// What generated <c>AttachFlora()</c> collects before attaching: the targets and modules to save of a model and of the
/// annotated models nested in it (members typed as one, or module lists of them), each with its dotted path from the
/// root as TorchSharp registers it (a <c>[ComponentName]</c> included), then attaches them. For generated code, not for
/// users: the generated <c>AttachFlora()</c> fills and attaches it.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class FloraParts
{
    private readonly List<FloraTarget> _targets = new();         // in declaration order, nested models where they are declared
    private readonly List<ModuleToSave> _modulesToSave = new();  // in declaration order
    private readonly Stack<string> _prefix = new();
    private readonly HashSet<nn.Module> _described = new(ReferenceEqualityComparer.Instance);

    private FloraParts()
    {
    }

    /// <summary>
    /// The adapters attached to <paramref name="model"/> itself, whichever entry point attached them (the generated
    /// <c>AttachFlora()</c> or <see cref="FloraInjector"/>), or null: the generated members work on either.
    /// </summary>
    public static FloraAttachment? AttachedTo(nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return FloraAttachment.Of(model);
    }

    /// <summary>The parts of <paramref name="model"/>, from its root.</summary>
    public static FloraParts Of(IFloraComposable model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var parts = new FloraParts();
        model.DescribeFloraParts(parts);
        return parts;
    }

    /// <summary>
    /// Freezes <paramref name="model"/> (the root these parts were described from), attaches adapters of
    /// <paramref name="method"/> to the targets and makes the modules to save train fully, with <paramref name="options"/>
    /// in place of what a target does not set itself; everything is validated before the model is touched.
    /// </summary>
    /// <param name="model">The model the parts were described from.</param>
    /// <param name="options">The model-wide settings (the generated <c>[FloraModel]</c> values, or the caller's).</param>
    /// <param name="method">FLoRA, or a baseline at the matched budget.</param>
    /// <param name="moreModulesToSave">
    /// Patterns (matched as <see cref="FloraConfig.ModulesToSave"/> are) of further modules to save besides the
    /// <c>[FloraModuleToSave]</c> members; each must match a module.
    /// </param>
    public FloraAttachment Attach(nn.Module model, FloraModelOptions options, FloraMethod method, IReadOnlyList<string>? moreModulesToSave = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        IReadOnlyList<ModuleToSave> modulesToSave = moreModulesToSave is { Count: > 0 }
            ? _modulesToSave.Concat(ModulesToSaveSelection.FindByPatterns(model, moreModulesToSave)).ToList()
            : _modulesToSave;
        return FloraAttachment.Attach(model, _targets, modulesToSave, options, method);
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

    /// <summary>
    /// Adds the target <paramref name="member"/> of <paramref name="parent"/>, a <see cref="MultiheadAttention"/>: its two
    /// projections, <c>{path}.in_proj</c> and <c>{path}.out_proj</c>, as <see cref="FloraInjector"/> adapts one
    /// (<see cref="FloraMultiheadAttention"/>, put in the layer's place while it holds adapters).
    /// </summary>
    /// <param name="parent">The model declaring the member.</param>
    /// <param name="member">The member's name, for messages and when the layer is not registered.</param>
    /// <param name="layer">The member's attention layer.</param>
    /// <param name="options">What the target sets itself; both projections take it.</param>
    public void Target(nn.Module parent, string member, MultiheadAttention? layer, FloraTargetOptions options)
    {
        ArgumentNullException.ThrowIfNull(parent);
        if (layer is null)
            throw new InvalidOperationException($"{parent.GetType().Name}.{member} is null: create the layer before calling AttachFlora().");
        string name = RegisteredName(parent, layer, member);
        _targets.AddRange(FloraMultiheadAttention.Wrap(parent, name, PathOf(PathSegment(name, member)), layer).Targets(options));
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
    private static string RegisteredName(nn.Module parent, nn.Module child, string member) =>
        ModuleTree.FindChild(parent, module => ReferenceEquals(module, child) || ModuleTree.Wraps(module, child)).Name ?? member;
}
