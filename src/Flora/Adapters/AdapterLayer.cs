using System;
using System.Collections.Generic;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// The common shape of every adapter module (FLoRA, LoRA, DoRA, BitFit, Houlsby, Pfeiffer): it wraps a frozen base layer, registered as
/// <c>base_layer</c>, and its <c>forward(x)</c> is <see cref="Adapt"/> of the input and the base layer's output.
/// Merge state is kept here so that every method refuses merging twice or unmerging an unmerged layer alike.
/// </summary>
public abstract class AdapterLayer : nn.Module<Tensor, Tensor>, IFloraAdapter
{
    [ComponentName(Name = "base_layer")]
    private readonly nn.Module<Tensor, Tensor> _baseLayer;

    /// <summary>Wraps <paramref name="baseLayer"/>; subclasses register their tensors, then call <c>RegisterComponents()</c>.</summary>
    private protected AdapterLayer(string name, nn.Module<Tensor, Tensor> baseLayer) : base(name)
    {
        Name = name;
        _baseLayer = baseLayer;
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public abstract FloraMethod Method { get; }

    /// <inheritdoc />
    public nn.Module<Tensor, Tensor> BaseLayer => _baseLayer;

    /// <inheritdoc />
    public abstract IReadOnlyList<(string Key, Parameter Tensor)> AdapterTensors { get; }

    /// <inheritdoc />
    public abstract AdapterSpec Spec { get; }

    /// <inheritdoc />
    public abstract long TrainableParameters { get; }

    /// <inheritdoc />
    public bool IsMerged { get; private set; }

    /// <inheritdoc />
    public abstract string Describe();

    /// <summary>
    /// Whether the adapter contributes (true but inside <see cref="FloraAttachment.Disable"/>): a disabled adapter computes
    /// exactly as its base layer.
    /// </summary>
    public bool IsEnabled { get; private set; } = true;

    /// <summary>Switches the adapter on or off; <see cref="FloraAttachment.Disable"/> owns this state.</summary>
    internal void SetEnabled(bool enabled)
    {
        if (enabled == IsEnabled) return;
        IsEnabled = enabled;
        OnEnabledChanged(enabled);
    }

    /// <summary>Called when the adapter is switched on or off; an adapter that changed the base layer in place swaps its values here.</summary>
    private protected virtual void OnEnabledChanged(bool enabled)
    {
    }

    /// <summary>Whether the base layer's own output is the answer: merged into it, or switched off.</summary>
    private protected bool ComputesAsBase => IsMerged || !IsEnabled;

    /// <summary>
    /// How many times the adapter has computed an output since it was attached (its forward, <see cref="Adapt"/>, or a
    /// whole call through the base layer's hooks): an attachment whose model ran while an adapter never did has an
    /// adapter its model bypasses.
    /// </summary>
    internal long Calls { get; private set; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        Calls++;
        return ComputesAsBase ? _baseLayer.forward(input) : ForwardUnmerged(input);
    }

    /// <summary>The unmerged forward when the adapter holds the base layer itself (the base output plus the update, by default).</summary>
    protected virtual Tensor ForwardUnmerged(Tensor input) => AdaptUnmerged(input, _baseLayer.forward(input));

    /// <summary>
    /// Whether the adapter computes the whole output of a call with <paramref name="input"/> itself, so that a member
    /// reached through hooks can skip the base layer's own work (asked only when the base layer has no hooks but the
    /// adapter's: see <see cref="HookTransport"/>).
    /// </summary>
    internal virtual bool TakesWholeCall(Tensor input) => false;

    /// <summary>The whole output for <paramref name="input"/>, computed without the base layer's call (after <see cref="TakesWholeCall"/>).</summary>
    internal Tensor ForwardWholeCall(Tensor input)
    {
        Calls++;
        return ComputesAsBase ? _baseLayer.forward(input) : ForwardWholeCallUnmerged(input);
    }

    /// <summary>The unmerged whole output that <see cref="TakesWholeCall"/> promised (the adapter's forward by default).</summary>
    private protected virtual Tensor ForwardWholeCallUnmerged(Tensor input) => ForwardUnmerged(input);

    /// <inheritdoc />
    public Tensor Adapt(Tensor input, Tensor baseOutput)
    {
        Calls++;
        return ComputesAsBase ? baseOutput : AdaptUnmerged(input, baseOutput);
    }

    /// <summary>The adapted output while the update is not merged.</summary>
    protected abstract Tensor AdaptUnmerged(Tensor input, Tensor baseOutput);

    /// <summary>
    /// <paramref name="result"/> (the base output plus the contributions of the active adapters before this one) plus this
    /// adapter's contribution, when several named adapters are active on one layer (<see cref="FloraAttachment.SetAdapters"/>):
    /// as PEFT's LoRA layer computes it, this adapter adapts the running result. For a weight-delta adapter that adds
    /// <c>s·Δ(x)</c>; DoRA rescales the running result as PEFT's DoRA does with its <c>base_result</c>. Returns
    /// <paramref name="result"/> itself when the adapter adds nothing (merged or switched off).
    /// </summary>
    internal virtual Tensor AddContribution(Tensor input, Tensor baseOutput, Tensor result) => Adapt(input, result);

    /// <inheritdoc />
    public void Merge()
    {
        if (MergeRefusal is string refusal) throw new InvalidOperationException(refusal);
        if (IsMerged)
            throw new InvalidOperationException($"The {Method} adapter of '{Name}' is already merged; merging twice would apply its update twice. Call Unmerge first.");
        using (no_grad()) MergeIntoBase();
        IsMerged = true;
    }

    /// <inheritdoc />
    public void Unmerge()
    {
        if (MergeRefusal is string refusal) throw new InvalidOperationException(refusal);
        if (!IsMerged)
            throw new InvalidOperationException($"The {Method} adapter of '{Name}' is not merged, so there is nothing to unmerge. Call Merge first.");
        using (no_grad()) UnmergeFromBase();
        IsMerged = false;
    }

    /// <summary>
    /// Why this adapter can never be merged (a bottleneck adapter's update is nonlinear in the layer's output), naming
    /// the method and the fix; null when it can. <see cref="Merge"/> and <see cref="Unmerge"/> throw it, and the attachment
    /// checks every adapter for it before merging any.
    /// </summary>
    internal virtual string? MergeRefusal => null;

    /// <summary>Writes the update into the base layer's weights (called without gradient tracking).</summary>
    protected abstract void MergeIntoBase();

    /// <summary>Takes a merged update out of the base layer's weights again (called without gradient tracking).</summary>
    protected abstract void UnmergeFromBase();

    /// <summary>
    /// Called when the adapter is taken out of the model. With <paramref name="keepUpdate"/> false, restore anything of the
    /// base it changed besides merging (the base model comes back exactly); with true the update stays in the base
    /// (<see cref="FloraAttachment.MergeAndDetach"/>).
    /// </summary>
    internal virtual void OnDetach(bool keepUpdate)
    {
    }

    /// <summary>
    /// The dtype an adapter's tensors are created in for <paramref name="baseWeight"/>: float32 for a 16-bit base weight
    /// when <paramref name="autocast"/> (PEFT's <c>autocast_adapter_dtype</c>), else the base weight's dtype.
    /// </summary>
    private protected static ScalarType AdapterDtypeFor(Tensor baseWeight, bool autocast) =>
        autocast && baseWeight.dtype is ScalarType.BFloat16 or ScalarType.Float16 ? ScalarType.Float32 : baseWeight.dtype;

    /// <summary>Unregisters the base layer so that disposing the adapter leaves it alive.</summary>
    internal void ReleaseBaseLayer() => register_module("base_layer", null!);
}
