using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// A module to save while it is attached: it trains in place (a <c>readonly BatchNorm2d</c> member cannot be replaced by
/// a copy), and the values its parameters and buffers had at attach are kept aside, detached from any dispose scope, so
/// that detaching puts them back bit for bit and <see cref="FloraAttachment.Disable"/> can run the original for a while.
/// Tensors are looked up on the module at each use: TorchSharp replaces them when the model moves to a device or dtype.
/// </summary>
internal sealed class SavedModule : IDisposable
{
    private readonly Dictionary<string, Tensor> _original;
    private Dictionary<string, Tensor>? _trainedWhileDisabled;

    public SavedModule(ModuleToSave module)
    {
        Path = module.Path;
        Module = module.Module;
        using (no_grad())
            _original = Tensors().ToDictionary(t => t.Key, t => t.Tensor.detach().clone().DetachFromDisposeScope());
    }

    /// <summary>The module's dotted path; its tensors are keyed <c>{Path}.{name}</c> in adapter files.</summary>
    public string Path { get; }

    public nn.Module Module { get; }

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
    public void RestoreOriginal() => CopyInto(_original);

    /// <summary>Keeps the trained values aside and puts the original ones in, until <see cref="EndDisable"/>.</summary>
    public void BeginDisable()
    {
        using (no_grad())
            _trainedWhileDisabled = Tensors().ToDictionary(t => t.Key, t => t.Tensor.detach().clone().DetachFromDisposeScope());
        CopyInto(_original);
    }

    /// <summary>Puts the trained values back after <see cref="BeginDisable"/>.</summary>
    public void EndDisable()
    {
        if (_trainedWhileDisabled is null) return;
        CopyInto(_trainedWhileDisabled);
        foreach (var tensor in _trainedWhileDisabled.Values) tensor.Dispose();
        _trainedWhileDisabled = null;
    }

    /// <summary>A short description for the attachment's table, e.g. <c>BatchNorm2d (3 tensors)</c>.</summary>
    public string Describe()
    {
        int parameters = Module.parameters().Count(), buffers = Module.named_buffers().Count();
        return $"{Module.GetType().Name}, saved whole ({parameters} parameters, {buffers} buffers)";
    }

    private void CopyInto(Dictionary<string, Tensor> values)
    {
        using (no_grad())
        {
            foreach (var (key, tensor) in Tensors())
                if (values.TryGetValue(key, out var value)) tensor.copy_(value);
        }
    }

    public void Dispose()
    {
        foreach (var tensor in _original.Values) tensor.Dispose();
        _original.Clear();
        if (_trainedWhileDisabled is not null)
            foreach (var tensor in _trainedWhileDisabled.Values) tensor.Dispose();
        _trainedWhileDisabled = null;
    }
}
