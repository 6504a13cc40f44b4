using System;
using System.Collections.Generic;
using System.Linq;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// The values some base tensors had at attach, for what trains them in place (a module to save, BitFit's biases): kept
/// aside outside any dispose scope and outside the module (neither in <c>state_dict</c> nor moved with the model), put
/// back bit-exactly on detach, and swapped with the trained values for a <see cref="FloraAttachment.Disable"/> scope.
/// The tensors are looked up at each use: TorchSharp replaces them when the model moves to a device or dtype.
/// </summary>
internal sealed class OriginalValues : IDisposable
{
    private readonly Func<IEnumerable<(string Key, Tensor Tensor)>> _current;
    private readonly Dictionary<string, Tensor> _original;

    /// <summary>Keeps a copy of what <paramref name="current"/> lists now.</summary>
    public OriginalValues(Func<IEnumerable<(string Key, Tensor Tensor)>> current)
    {
        _current = current;
        using (no_grad())
            _original = current().ToDictionary(t => t.Key, t => t.Tensor.detach().clone().DetachFromDisposeScope());
    }

    private OriginalValues(Func<IEnumerable<(string Key, Tensor Tensor)>> current, Dictionary<string, Tensor> original)
    {
        _current = current;
        _original = original;
    }

    /// <summary>The kept values by key (read-only use: they are this object's).</summary>
    public IReadOnlyDictionary<string, Tensor> Values => _original;

    /// <summary>An independent copy of the kept values, restoring into the same tensors.</summary>
    public OriginalValues Copy()
    {
        using (no_grad())
            return new OriginalValues(_current, _original.ToDictionary(p => p.Key, p => p.Value.clone().DetachFromDisposeScope()));
    }

    /// <summary>Puts the values of attach time back.</summary>
    public void Restore()
    {
        using (no_grad())
        {
            foreach (var (key, tensor) in _current())
                if (_original.TryGetValue(key, out var original)) tensor.copy_(original);
        }
    }

    /// <summary>Whether every tensor of <paramref name="current"/> (a subset of what was kept) still holds its value of attach time.</summary>
    public bool Matches(IEnumerable<(string Key, Tensor Tensor)> current)
    {
        foreach (var (key, tensor) in current)
            if (_original.TryGetValue(key, out var original) && !tensor.Equals(original)) return false;
        return true;
    }

    /// <summary>Exchanges the current values with the kept ones: once to run the original for a while, once more to go back.</summary>
    public void Swap()
    {
        using (no_grad())
        {
            foreach (var (key, tensor) in _current())
            {
                if (!_original.TryGetValue(key, out var original)) continue;
                using var current = tensor.detach().clone();
                tensor.copy_(original);
                original.copy_(current);
            }
        }
    }

    public void Dispose()
    {
        foreach (var tensor in _original.Values) tensor.Dispose();
        _original.Clear();
    }
}
