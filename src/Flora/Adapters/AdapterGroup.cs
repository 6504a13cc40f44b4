using System;
using System.Collections.Generic;
using System.Linq;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// Adapters of one attachment whose layers are alike (same method, adapter type, weight shape, resolved configuration):
/// their weights are built together, once per forward, in one batched chain of the stacked adapter tensors, instead of
/// one chain per layer. ResNet-18's 16 block convolutions form 4 such groups of 3–4 layers (and 3 lone layers, which
/// stay ungrouped). Each member's fused call then takes its slice: <c>W0 + s·ΔW</c> for the fused path, <c>s·ΔW</c> for
/// the materialised one.
/// <para>
/// Only inside a forward of the attached model (<see cref="ForwardScope.IsOpen"/>): what the group builds belongs to
/// that forward's generation and is released when it ends, so autograd always sees the current parameters and a
/// layer called twice in one forward reuses its slice. Outside a scope, after the adapters moved apart (another device
/// or dtype), or for a member no longer alike, the member builds its own weight as an ungrouped adapter does. The
/// per-layer parameters stay the leaves the optimizer steps: the stacking is part of the graph.
/// </para>
/// </summary>
internal sealed class AdapterGroup : IDisposable
{
    private readonly DeltaAdapterLayer[] _members;
    private readonly ForwardScope _scope;
    private readonly Built _fused = new(), _deltas = new();

    private AdapterGroup(DeltaAdapterLayer[] members, ForwardScope scope)
    {
        _members = members;
        _scope = scope;
        for (int i = 0; i < members.Length; i++) members[i].JoinGroup(this, i);
    }

    /// <summary>How many times the group has built its members' weights (once per forward and kind while alike).</summary>
    public int Builds { get; private set; }

    /// <summary>The members, in attach order.</summary>
    public IReadOnlyList<DeltaAdapterLayer> Members => _members;

    /// <summary>Groups the alike adapters of <paramref name="adapters"/> (two or more each); the rest stay alone.</summary>
    public static IReadOnlyList<AdapterGroup> Form(IEnumerable<AdapterLayer> adapters, ForwardScope scope)
    {
        if (!scope.IsHooked) return Array.Empty<AdapterGroup>();
        return adapters.OfType<DeltaAdapterLayer>()
            .Select(a => (Adapter: a, Key: a.GroupKey))
            .Where(a => a.Key is not null)
            .GroupBy(a => a.Key!)
            .Where(g => g.Count() > 1)
            .Select(g => new AdapterGroup(g.Select(a => a.Adapter).ToArray(), scope))
            .ToArray();
    }

    /// <summary>
    /// This forward's <c>W0 + s·ΔW</c> of member <paramref name="index"/>, or null to build it alone. The group owns it
    /// (released when the forward ends): the caller uses it and never disposes it.
    /// </summary>
    public Tensor? Fused(int index) => Take(_fused, index, includeBase: true);

    /// <summary>This forward's <c>s·ΔW</c> of member <paramref name="index"/>, or null to build it alone; owned by the group as <see cref="Fused"/> is.</summary>
    public Tensor? Delta(int index) => Take(_deltas, index, includeBase: false);

    private Tensor? Take(Built built, int index, bool includeBase)
    {
        if (!_scope.IsOpen) return null;
        long generation = _scope.Generation;
        if (built.Generation != generation)
        {
            built.Release();
            built.Generation = generation;
            built.Slices = Alike() ? Build(includeBase) : null;
        }
        return built.Slices?[index];
    }

    /// <summary>Whether every member still computes alike: the same device and dtype, none merged or switched off.</summary>
    private bool Alike()
    {
        var first = _members[0];
        foreach (var member in _members)
            if (!member.IsGroupedLike(first)) return false;
        return true;
    }

    /// <summary>Every member's weight in one batched chain, cut into per-member slices that outlive any dispose scope of the caller.</summary>
    private Tensor[] Build(bool includeBase)
    {
        Builds++;
        using var stacked = _members[0].BuildStacked(_members, includeBase);
        Tensor[] slices = stacked.unbind(0);
        foreach (var slice in slices) slice.DetachFromDisposeScope();
        return slices;
    }

    /// <summary>Releases what this forward built (called when the forward ends).</summary>
    public void Release()
    {
        _fused.Release();
        _deltas.Release();
    }

    /// <summary>Takes the members out of the group; each builds its own weight again.</summary>
    public void Dispose()
    {
        Release();
        foreach (var member in _members) member.LeaveGroup();
    }

    /// <summary>One kind of weight built for one generation.</summary>
    private sealed class Built
    {
        public long Generation = -1;
        public Tensor[]? Slices;

        public void Release()
        {
            if (Slices is not null)
                foreach (var slice in Slices) slice.Dispose();
            Slices = null;
            Generation = -1;
        }
    }
}
