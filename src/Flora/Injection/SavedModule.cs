using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// A module to save while it is attached: it trains in place (a <c>readonly BatchNorm2d</c> member cannot be replaced by
/// a copy), and the values its parameters and buffers had at attach are kept aside (<see cref="OriginalValues"/>), so
/// that detaching puts them back bit for bit and <see cref="FloraAttachment.Disable"/> can run the original for a while.
/// </summary>
internal sealed class SavedModule : IDisposable
{
    private readonly OriginalValues _original;

    public SavedModule(ModuleToSave module)
    {
        Source = module;
        _original = new OriginalValues(Tensors);
    }

    /// <summary>What the attachment was asked to save: the module and its path.</summary>
    public ModuleToSave Source { get; }

    /// <summary>The module's dotted path; its tensors are keyed <c>{Path}.{name}</c> in adapter files.</summary>
    public string Path => Source.Path;

    public nn.Module Module => Source.Module;

    /// <summary>The module's parameters (what trains).</summary>
    public IEnumerable<Parameter> Parameters() => Module.parameters();

    /// <summary>The number of trainable scalars: every parameter of the module.</summary>
    public long TrainableParameters => Module.parameters().Sum(p => p.numel());

    /// <summary>Every parameter and buffer with its name relative to the module, in registration order (what adapter files hold).</summary>
    public IReadOnlyList<(string Key, Tensor Tensor)> Tensors() =>
        Module.named_parameters().Select(p => (p.name, (Tensor)p.parameter))
            .Concat(Module.named_buffers().Select(b => (b.name, b.buffer)))
            .ToList();

    /// <summary>Makes every parameter of the module trainable.</summary>
    public void MakeTrainable()
    {
        foreach (var parameter in Module.parameters()) parameter.requires_grad = true;
    }

    /// <summary>Puts the values of attach time back (detach); bit-exact while the module kept its dtype.</summary>
    public void RestoreOriginal() => _original.Restore();

    /// <summary>A copy of the values of attach time, restoring into this module (the start of a new named adapter's copy).</summary>
    public OriginalValues CopyOfOriginal() => _original.Copy();

    /// <summary>Exchanges the trained values with those of attach time: at the start of a Disable scope, and again at its end.</summary>
    public void SwapWithOriginal() => _original.Swap();

    /// <summary>A short description for the attachment's table, e.g. <c>BatchNorm2d, saved whole (2 parameters, 3 buffers)</c>.</summary>
    public string Describe()
    {
        int parameters = Module.parameters().Count(), buffers = Module.named_buffers().Count();
        return $"{Module.GetType().Name}, saved whole ({parameters} parameters, {buffers} buffers)";
    }

    public void Dispose() => _original.Dispose();
}
