using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// An adapter whose update is a weight delta ΔW (FLoRA, LoRA, DoRA) on one base layer kind's
/// <see cref="LayerGeometry"/>. The methods differ only in how they build ΔW and its factorised update (DoRA also
/// rescales); everything else lives here once: three ways to run unmerged (<see cref="FloraForwardPath"/>: the base
/// output plus a factorised update, the base output plus a second layer with a materialised ΔW, or one layer with
/// <c>W0 + ΔW</c> in place of the base layer's call), merge and unmerge, and the choice of path: the adapter's
/// override, else its configuration, else the cheapest by the cost model (<see cref="EstimateCost(long[])"/>), decided once per input
/// signature (<see cref="PathCache"/>). On 16-bit weights the cheapest-path choice never fuses: <c>W0 + ΔW</c>
/// rounded to the weight's dtype loses an update below its resolution, which the unfused paths keep.
/// <para>
/// Adapter tensors of a 16-bit base layer are float32 by default (<see cref="FloraModelOptions.AutocastAdapterDtype"/>,
/// PEFT's <c>autocast_adapter_dtype</c>), so neither the optimizer's steps nor the update round to 16 bits: the unfused
/// paths compute the update in the adapter tensors' dtype from the input cast to it, add it to the base output in that
/// dtype and round the sum once to the output's dtype. Whatever dtype the tensors have (a model converted after attach
/// converts them too), the update is computed in it.
/// </para>
/// <para>
/// Where the adapter holds the base layer (a stored wrapper) the fused path simply does not call it; a member reached
/// through hooks skips the base layer's work through <see cref="HookTransport"/>. Alike adapters of one attachment build
/// their fused weights (or updates) together once per forward (<see cref="AdapterGroup"/>); each then runs one layer
/// call with its slice.
/// </para>
/// </summary>
public abstract class DeltaAdapterLayer : AdapterLayer
{
    private readonly PathCache _paths = new();
    private AdapterGroup? _group;
    private int _groupIndex;
    private (ScalarType Adapter, ScalarType Base, DeviceType Device, int DeviceIndex) _placement;
    private (string Key, string Name)[] _tensorNames = Array.Empty<(string, string)>();
    private (string Key, Parameter Tensor)[] _tensors = Array.Empty<(string, Parameter)>();
    private FloraForwardPath _forwardPath;

    private protected DeltaAdapterLayer(string name, nn.Module<Tensor, Tensor> baseLayer, LayerGeometry geometry) : base(name, baseLayer)
    {
        Geometry = geometry;
    }

    /// <summary>How the base layer computes: its call with another weight, the factorised blocks, batching, sizes.</summary>
    private protected LayerGeometry Geometry { get; }

    /// <summary>Overrides the configured forward path of this adapter (Auto lets the cost model choose per input signature).</summary>
    public FloraForwardPath ForwardPath
    {
        get => _forwardPath;
        set => _forwardPath = value;
    }

    /// <summary>The path the last unmerged forward took.</summary>
    public FloraForwardPath LastPath { get; private set; }

    /// <inheritdoc />
    public override System.Collections.Generic.IReadOnlyList<(string Key, Parameter Tensor)> AdapterTensors => _tensors;

    /// <summary>The forward path the adapter's configuration asks for.</summary>
    protected abstract FloraForwardPath ConfiguredPath { get; }

    /// <summary>Dropout probability on the adapter's input; while training it rules out the fused path.</summary>
    protected abstract double Dropout { get; }

    /// <summary>The cost of each path for an input of this shape in <paramref name="context"/>.</summary>
    internal abstract FloraCostEstimate EstimateCost(long[] inputShape, FloraCostContext context);

    /// <summary>The cost of each path for a training step with an input of this shape, on the adapter's device and dtype.</summary>
    public FloraCostEstimate EstimateCost(long[] inputShape)
    {
        Parameter first = _tensors[0].Tensor;
        return EstimateCost(inputShape, FloraCostContext.TrainingStep(first.device_type, first.dtype));
    }

    /// <summary>The materialised update <c>s·ΔW</c> in the base weight's shape, dtype and device.</summary>
    public Tensor Delta()
    {
        Tensor delta = BuildDelta();
        ScalarType baseDtype = Geometry.Weight.dtype;
        if (delta.dtype == baseDtype) return delta;
        using (delta) return delta.to(baseDtype);
    }

    /// <summary>The materialised update <c>s·ΔW</c> in the base weight's shape, in the adapter tensors' dtype.</summary>
    private protected abstract Tensor BuildDelta();

    /// <summary>The update <c>s·Δ(x)</c> without building ΔW (<paramref name="x"/> after dropout).</summary>
    private protected abstract Tensor FactorisedUpdate(Tensor x);

    /// <summary>Registers the adapter's tensors (file key, registered name) once they are registered; they are then read from fields.</summary>
    private protected void AdoptTensors(params (string Key, string Name)[] names)
    {
        _tensorNames = names;
        RefreshTensors();
    }

    /// <summary>Called when the adapter's tensors were (re)read, after attach and after the model moved; cache them here.</summary>
    private protected virtual void OnTensorsRefreshed()
    {
    }

    /// <summary>The adapter tensor saved under <paramref name="key"/> (read where tensors are refreshed, never per forward).</summary>
    private protected Parameter AdapterTensor(string key) =>
        AdapterTensorOrNull(key) ?? throw new KeyNotFoundException($"'{Name}' has no adapter tensor '{key}'; it has {string.Join(", ", _tensors.Select(t => t.Key))}.");

    /// <summary>The adapter tensor saved under <paramref name="key"/>, or null while it is not adopted yet.</summary>
    private protected Parameter? AdapterTensorOrNull(string key)
    {
        foreach (var (k, tensor) in _tensors)
            if (k == key) return tensor;
        return null;
    }

    private void RefreshTensors()
    {
        _tensors = _tensorNames.Select(n => (n.Key, get_parameter(n.Name)!)).ToArray();
        Parameter first = _tensors[0].Tensor;
        _placement = (first.dtype, Geometry.Weight.dtype, first.device_type, first.device_index);
        OnTensorsRefreshed();
    }

    /// <summary>
    /// What makes adapters alike enough to build their weights together (<see cref="AdapterGroup"/>): the adapter type
    /// and its resolved configuration with the base weight's shape; null for an adapter that builds alone.
    /// </summary>
    internal virtual object? GroupKey => null;

    /// <summary>
    /// The weights of <paramref name="members"/> (this adapter's type and <see cref="GroupKey"/>) stacked on a new first
    /// axis, in the adapter tensors' dtype: <c>W0 + s·ΔW</c> each with <paramref name="includeBase"/>, else <c>s·ΔW</c>.
    /// </summary>
    internal virtual Tensor BuildStacked(IReadOnlyList<DeltaAdapterLayer> members, bool includeBase) =>
        throw new InvalidOperationException($"{GetType().Name} adapters build their weights alone (no group key).");

    /// <summary>
    /// The last step of every method's stacked build: <c>left @ right</c> (<c>[n, out, r] @ [n, r, rest]</c>, the scale
    /// already in one of them), plus the members' stacked base weights with <paramref name="includeBase"/> (one
    /// <c>baddbmm</c>, so the full-size result is written once), shaped <c>[n, out, in/groups, k…]</c>.
    /// </summary>
    private protected Tensor StackedWeights(IReadOnlyList<DeltaAdapterLayer> members, Tensor left, Tensor right, bool includeBase)
    {
        int n = members.Count;
        Tensor full;
        if (includeBase)
        {
            using var bases = StackBaseWeights(members);
            using var flat = bases.reshape(n, Geometry.WeightShape[0], -1);
            full = BatchedProduct.PlusProduct(flat, left, right);
        }
        else
        {
            full = left.bmm(right);
        }
        using (full)
        {
            var shape = new long[Geometry.WeightShape.Length + 1];
            shape[0] = n;
            Geometry.WeightShape.CopyTo(shape, 1);
            return full.reshape(shape);
        }
    }

    /// <summary>The base weights of <paramref name="members"/> stacked, in the adapter tensors' dtype.</summary>
    private static Tensor StackBaseWeights(IReadOnlyList<DeltaAdapterLayer> members)
    {
        var weights = new Tensor[members.Count];
        for (int i = 0; i < weights.Length; i++) weights[i] = members[i].Geometry.Weight;
        Tensor stacked = stack(weights);
        ScalarType dtype = members[0]._placement.Adapter;
        if (stacked.dtype == dtype) return stacked;
        using (stacked) return stacked.to(dtype);
    }

    /// <summary>Whether this adapter still computes alike with <paramref name="first"/> of its group: same dtypes and device.</summary>
    internal bool IsGroupedLike(DeltaAdapterLayer first) => _placement == first._placement;

    internal void JoinGroup(AdapterGroup group, int index)
    {
        _group = group;
        _groupIndex = index;
    }

    internal void LeaveGroup() => _group = null;

    /// <summary>The group this adapter builds its weight with, if any.</summary>
    internal AdapterGroup? Group => _group;

    /// <inheritdoc />
    /// <remarks>TorchSharp replaces the Parameter objects when a module moves or converts; the cached ones follow.</remarks>
    protected override void _toEpilog(ScalarType? dtype, Device? device, bool non_blocking)
    {
        base._toEpilog(dtype, device, non_blocking);
        RefreshTensors();
        _paths.Clear();
    }

    /// <summary>The update <c>s·Δ(x)</c> on the factorised or materialised path (<paramref name="x"/> after dropout).</summary>
    private protected Tensor Update(Tensor x, FloraForwardPath path)
    {
        if (path != FloraForwardPath.Materialised) return FactorisedUpdate(x);
        // The group's slice is borrowed for this forward; a delta built here is ours to dispose.
        Tensor? grouped = _group?.Delta(_groupIndex);
        using Tensor? built = grouped is null ? BuildDelta() : null;
        return Geometry.Apply(x, grouped ?? built!, null);
    }

    /// <summary>The weight of the fused call: <c>W0 + s·ΔW</c> (DoRA rescales it), in the wider of the two dtypes.</summary>
    private protected virtual Tensor FusedWeight()
    {
        using var delta = BuildDelta();
        return Geometry.Weight.Plus(delta);
    }

    /// <summary>
    /// The whole adapted output from one layer call with the adapted weight (no dropout: the fused path has none), the
    /// weight rounded to the input's dtype: with a 16-bit input this is the one path that loses an update below the
    /// dtype's resolution, so it runs only when asked for.
    /// </summary>
    private Tensor ForwardFused(Tensor input)
    {
        Tensor? grouped = _group?.Fused(_groupIndex);
        using Tensor? built = grouped is null ? FusedWeight() : null;
        Tensor weight = grouped ?? built!;
        // The fused weight has the adapter tensors' dtype (W0 + ΔW in the wider of the two); rounded to the input's
        // (an Embedding's ids have none: to the base weight's).
        ScalarType dtype = Geometry.TakesIndices ? _placement.Base : input.dtype;
        if (_placement.Adapter == dtype) return Geometry.Apply(input, weight, Geometry.Bias);
        using var rounded = weight.to(dtype);
        return Geometry.Apply(input, rounded, Geometry.Bias);
    }

    /// <summary>
    /// The adapted output on the factorised or materialised path. With adapter tensors of another dtype than the input
    /// (float32 beside a 16-bit base layer) the update is computed in theirs from the input cast to it, added to the base
    /// output in that dtype, and the sum rounded once to the base output's dtype. An Embedding's ids are used as they are.
    /// </summary>
    private Tensor AdaptUnfused(Tensor input, Tensor baseOutput, FloraForwardPath path)
    {
        ScalarType adapterDtype = _placement.Adapter;
        if (input.dtype == adapterDtype) return AdaptUnfusedInAdapterDtype(input, baseOutput, path);
        using var adapterInput = Geometry.TakesIndices ? null : input.to(adapterDtype);
        Tensor output = AdaptUnfusedInAdapterDtype(adapterInput ?? input, baseOutput, path);
        if (output.dtype == baseOutput.dtype) return output;
        using (output) return output.to(baseOutput.dtype);
    }

    /// <summary>
    /// The adapted output from the base layer's output on the factorised or materialised path, <paramref name="input"/>
    /// in the adapter tensors' dtype.
    /// </summary>
    private protected virtual Tensor AdaptUnfusedInAdapterDtype(Tensor input, Tensor baseOutput, FloraForwardPath path)
    {
        using var update = Update(AdapterInput(input), path);
        return baseOutput.Plus(update);
    }

    /// <summary>The adapter's input: <paramref name="input"/> after dropout while training (never on an Embedding's ids, as PEFT's Embedding).</summary>
    private protected Tensor AdapterInput(Tensor input) => Dropout > 0 && !Geometry.TakesIndices ? nn.functional.dropout(input, Dropout, training) : input;

    /// <inheritdoc />
    protected sealed override Tensor ForwardUnmerged(Tensor input)
    {
        FloraForwardPath path = ChoosePath(input, baseSkippable: true);
        if (path == FloraForwardPath.Fused) return ForwardFused(input);
        using var baseOutput = BaseLayer.forward(input);
        return AdaptUnfused(input, baseOutput, path);
    }

    /// <inheritdoc />
    protected sealed override Tensor AdaptUnmerged(Tensor input, Tensor baseOutput) =>
        AdaptUnfused(input, baseOutput, ChoosePath(input, baseSkippable: false));

    /// <inheritdoc />
    internal sealed override bool TakesWholeCall(Tensor input) =>
        !ComputesAsBase && Geometry.IsBatched(input.dim()) && input.size(0) > 0 && ChoosePath(input, baseSkippable: true) == FloraForwardPath.Fused;

    /// <inheritdoc />
    private protected sealed override Tensor ForwardWholeCallUnmerged(Tensor input) => ForwardFused(input);

    /// <summary>The path for this input (override, configuration, or cheapest), recorded in <see cref="LastPath"/>.</summary>
    private FloraForwardPath ChoosePath(Tensor input, bool baseSkippable)
    {
        bool fusable = baseSkippable && !(Dropout > 0 && training);
        FloraForwardPath chosen = _forwardPath != FloraForwardPath.Auto ? _forwardPath : ConfiguredPath;
        FloraForwardPath path = chosen != FloraForwardPath.Auto && (chosen != FloraForwardPath.Fused || fusable)
            ? chosen
            : Geometry.PreferredPath ?? _paths.Cheapest(this, input, fusable);
        LastPath = path;
        return path;
    }

    /// <summary>Whether gradients reach the adapter's tensors (they train).</summary>
    internal bool AdapterTrains => _tensors[0].Tensor.requires_grad;

    /// <inheritdoc />
    protected override void MergeIntoBase()
    {
        using var delta = BuildDelta();
        Geometry.Weight.PlusInPlace(delta);
    }

    /// <inheritdoc />
    protected override void UnmergeFromBase()
    {
        using var delta = BuildDelta();
        Geometry.Weight.sub_(delta);
    }
}
