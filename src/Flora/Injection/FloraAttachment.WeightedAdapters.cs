using System;
using System.Collections.Generic;
using System.Linq;

namespace Flora;

/// <summary>Combining named adapters into a new one (PEFT's <c>add_weighted_adapter</c>).</summary>
public sealed partial class FloraAttachment
{
    /// <summary>
    /// Adds the adapter <paramref name="name"/> that combines <paramref name="adapters"/> with <paramref name="weights"/>
    /// as <paramref name="combination"/> says (<see cref="FloraCombination"/>), frozen and inactive, with the modules to
    /// save's values of attach time, as PEFT's <c>add_weighted_adapter</c>. LoRA adapters combine by Linear, Cat or Svd;
    /// FLoRA adapters by Cat (an exact FLoRA) or Svd (a LoRA of <paramref name="rank"/>); LoRA and FLoRA together by Svd.
    /// Returns the worst relative error over the targets, <c>‖ΔW_new − Σ w_i ΔW_i‖_F / ‖Σ w_i ΔW_i‖_F</c>: rounding for
    /// Cat, the truncation's for Svd, the cross terms for Linear. Refused, with nothing changed: unknown or repeated
    /// names, a weight count that differs, other methods, sources on different targets, Linear with different ranks, a
    /// Cat whose FLoRA ranks do not fit a mode, Svd without a positive rank, and while merged or disabled.
    /// </summary>
    /// <param name="adapters">The adapters to combine.</param>
    /// <param name="weights">One weight each.</param>
    /// <param name="name">The new adapter's name.</param>
    /// <param name="combination">How to combine them.</param>
    /// <param name="rank">Svd's rank (default: the largest LoRA rank, or FLoRA output rank, of the sources).</param>
    public double AddWeightedAdapter(IReadOnlyList<string> adapters, IReadOnlyList<double> weights, string name, FloraCombination combination = FloraCombination.Svd, int? rank = null)
    {
        ArgumentNullException.ThrowIfNull(adapters);
        ArgumentNullException.ThrowIfNull(weights);
        EnsureAttached();
        EnsureEnabled("combine adapters");
        CheckNewName(name);
        if (adapters.Count == 0 || adapters.Count != weights.Count)
            throw new ArgumentException($"Give one weight per adapter: {adapters.Count} adapters, {weights.Count} weights.", nameof(weights));
        if (weights.Any(w => !double.IsFinite(w)))
            throw new ArgumentException($"The weights must be finite numbers: {string.Join(", ", weights)}.", nameof(weights));
        var repeated = adapters.GroupBy(a => a).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null)
            throw new ArgumentException($"The adapter '{repeated.Key}' is named {repeated.Count()} times; name each adapter once (and add its weights).", nameof(adapters));
        var sources = adapters.Select(Find).ToArray();
        if (IsMerged)
            throw new InvalidOperationException($"Cannot combine adapters into '{name}' while adapters are merged. Call Unmerge() first.");
        var method = CombinedMethod(sources, combination);
        int svdRank = rank ?? sources.SelectMany(s => s.Layers).Max(l => l.Spec.Ranks[0]);
        if (combination == FloraCombination.Svd && svdRank < 1)
            throw new ArgumentException($"The Svd rank must be at least 1, not {svdRank}.", nameof(rank));

        var paths = sources[0].Layers.Select(l => l.Name).ToArray();
        var different = sources.FirstOrDefault(s => !s.Layers.Select(l => l.Name).SequenceEqual(paths));
        if (different is not null)
            throw new ArgumentException($"'{different.Name}' adapts other layers than '{sources[0].Name}'; only adapters on the same targets combine.", nameof(adapters));
        var created = new List<(FloraTarget Target, AdapterLayer Adapter)>();
        double worst = 0;
        try
        {
            for (int i = 0; i < paths.Length; i++)
            {
                var layers = sources.Select(s => (DeltaAdapterLayer)s.Layers[i]).ToList();
                if (combination == FloraCombination.Linear && layers.Any(l => l.Spec.Ranks[0] != layers[0].Spec.Ranks[0]))
                    throw new ArgumentException($"'{paths[i]}': Linear combines LoRA adapters of one rank, but the ranks are {string.Join(", ", layers.Select(l => l.Spec.Ranks[0]))}. " +
                                                "Use Cat (exact) or Svd.", nameof(combination));
                var target = _floraTargets[_targets.FindIndex(t => t.Slot.Path == paths[i])];
                var spec = WeightedCombination.Spec(layers, combination, svdRank);
                var layer = (DeltaAdapterLayer)AdapterDispatch.CreateFromSpec(method, target.Slot.Path, target.Slot.Layer, spec);
                created.Add((target, layer));
                worst = Math.Max(worst, WeightedCombination.Fill(layer, layers, weights, combination));
            }
        }
        catch
        {
            foreach (var (_, adapter) in created) Dispose(adapter);
            throw;
        }
        Register(NewInactiveAdapter(name, method, created, null), created);
        return worst;
    }

    /// <summary>The combined adapter's method, or an error when <paramref name="sources"/> cannot combine as <paramref name="combination"/> says.</summary>
    private static FloraMethod CombinedMethod(NamedAdapter[] sources, FloraCombination combination)
    {
        var methods = sources.Select(s => s.Method).Distinct().ToArray();
        if (methods.Any(m => m is not (FloraMethod.Lora or FloraMethod.Flora)))
            throw new ArgumentException($"Only LoRA and FLoRA adapters combine (their updates are weight deltas); {string.Join(", ", sources.Select(s => $"'{s.Name}' is {s.Method}"))}.", "adapters");
        if (combination != FloraCombination.Svd && methods.Length > 1)
            throw new ArgumentException($"LoRA and FLoRA adapters combine by Svd only: {combination} keeps one method's form.", nameof(combination));
        if (combination == FloraCombination.Linear && methods[0] == FloraMethod.Flora)
            throw new ArgumentException("FLoRA adapters combine by Cat (exact) or Svd; Linear is PEFT's rule for LoRA's A and B.", nameof(combination));
        return WeightedCombination.ResultMethod(methods[0], combination);
    }
}
