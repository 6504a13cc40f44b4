using System;
using System.Collections.Generic;
using System.Linq;

namespace Flora;

/// <summary>Mixed-batch inference: each row of a batch with its own named adapter, in one forward (PEFT's <c>adapter_names</c>).</summary>
public sealed partial class FloraAttachment
{
    private bool _inMixedBatch;

    /// <summary>
    /// Until the returned scope is disposed, each forward of the model computes row <c>i</c> of its batch with the adapter
    /// <paramref name="adapterNames"/>[i] — <c>"__base__"</c> for the base model — in one forward, as PEFT's
    /// <c>adapter_names</c> argument does: every target computes the base output for the whole batch, then adds each
    /// adapter's update to its rows. Inactive adapters serve too; the active ones are back when the scope ends.
    /// For LoRA and FLoRA adapters in eval mode; refused, with nothing changed: an unknown name, another method, a model
    /// in train mode (and a forward in train mode inside the scope), merged adapters, modules to save (their one module
    /// cannot hold several adapters' values at once), inside <see cref="Disable"/> or another mixed batch. The batch of
    /// every forward inside the scope must have one row per name (its first axis).
    /// </summary>
    public IDisposable MixedBatch(IReadOnlyList<string> adapterNames)
    {
        ArgumentNullException.ThrowIfNull(adapterNames);
        EnsureAttached();
        EnsureNoMixedBatch("open another mixed batch");
        EnsureEnabled("run a mixed batch");
        if (adapterNames.Count == 0) throw new ArgumentException("Name one adapter (or \"__base__\") per row of the batch.", nameof(adapterNames));
        var used = adapterNames.Where(n => n != BaseModelName).Distinct().Select(Find).ToArray();
        var unsupported = used.FirstOrDefault(a => a.Method is not (FloraMethod.Lora or FloraMethod.Flora));
        if (unsupported is not null)
            throw new NotSupportedException($"The adapter '{unsupported.Name}' is {unsupported.Method}; a mixed batch serves LoRA and FLoRA adapters (PEFT's adapter_names serves LoRA). Run its rows in a batch of their own with SetAdapter(\"{unsupported.Name}\").");
        if (Model.training)
            throw new InvalidOperationException("A mixed batch runs in eval mode only (PEFT refuses adapter_names while training). Call model.eval() first.");
        if (IsMerged)
            throw new InvalidOperationException("Cannot run a mixed batch while adapters are merged: the base weights hold an update for every row. Call Unmerge() first.");
        if (_savedModules.Count > 0)
            throw new InvalidOperationException($"Cannot run a mixed batch with modules to save ({string.Join(", ", _savedModules.Select(m => m.Path))}): each module holds one adapter's values at a time. Run each adapter's rows with SetAdapter.");
        var rows = used.Select(a => (a, Enumerable.Range(0, adapterNames.Count).Where(i => adapterNames[i] == a.Name).Select(i => (long)i).ToArray())).ToList();
        foreach (var target in _targets) target.EnterMixedBatch(rows, adapterNames.Count);
        _groupsToRelease = _named.ToArray();
        _inMixedBatch = true;
        return new ScopeEnd(EndMixedBatch);
    }

    private void EnsureNoMixedBatch(string action)
    {
        if (_inMixedBatch)
            throw new InvalidOperationException($"Cannot {action} while a MixedBatch scope is open: every target computes the mixed batch for now. Dispose the scope first.");
    }

    private void EndMixedBatch()
    {
        foreach (var target in _targets)
        {
            target.TakeOut();
            target.Activate(_active);
        }
        _groupsToRelease = _active;
        _inMixedBatch = false;
    }
}
