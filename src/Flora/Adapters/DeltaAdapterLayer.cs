using System.Linq;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// An adapter whose update is a weight delta ΔW (FLoRA, LoRA, DoRA), with three ways to run it unmerged
/// (<see cref="FloraForwardPath"/>): the base output plus a factorised update, the base output plus a second layer with
/// a materialised ΔW, or one layer with <c>W0 + ΔW</c> in place of the base layer's call (fused). The path is the
/// adapter's override, else its configuration, else the cheapest by <see cref="FloraCostModel"/> for the input at hand.
/// <para>
/// Where the adapter holds the base layer (a stored wrapper) the fused path simply does not call it. Where a member
/// keeps the base layer and reaches the adapter through hooks, the pre-hook hands the base layer an empty batch
/// (<c>input.narrow(0, 0, 0)</c>, no work) and the post-hook computes the fused output from the real input; an input
/// without a batch axis runs the base layer and one of the unfused paths.
/// </para>
/// </summary>
public abstract class DeltaAdapterLayer : AdapterLayer
{
    // The decision the pre-hook took for the call in flight, picked up by the post-hook.
    private PendingCall? _pending;

    /// <summary>Wraps <paramref name="baseLayer"/>; subclasses register their tensors, then call <c>RegisterComponents()</c>.</summary>
    protected DeltaAdapterLayer(string name, nn.Module<Tensor, Tensor> baseLayer) : base(name, baseLayer)
    {
    }

    /// <summary>Overrides the configured forward path of this adapter (Auto lets the cost model choose per call).</summary>
    public FloraForwardPath ForwardPath { get; set; }

    /// <summary>The path the last unmerged forward took.</summary>
    public FloraForwardPath LastPath { get; private set; }

    /// <summary>The forward path the adapter's configuration asks for.</summary>
    protected abstract FloraForwardPath ConfiguredPath { get; }

    /// <summary>Dropout probability on the adapter's input; while training it rules out the fused path.</summary>
    protected abstract double Dropout { get; }

    /// <summary>The cost of each path for an input of this shape in <paramref name="context"/>.</summary>
    public abstract FloraCostEstimate EstimateCost(long[] inputShape, FloraCostContext context);

    /// <summary>The cost of each path for a training step with an input of this shape, on the adapter's device and dtype.</summary>
    public FloraCostEstimate EstimateCost(long[] inputShape)
    {
        Parameter first = AdapterTensors[0].Tensor;
        return EstimateCost(inputShape, FloraCostContext.TrainingStep(first.device_type, first.dtype));
    }

    /// <summary>Whether <paramref name="input"/> has a batch axis the base layer can be handed empty.</summary>
    protected abstract bool IsBatched(Tensor input);

    /// <summary>The update <c>s·Δ(x)</c> on the factorised or materialised path (<paramref name="x"/> after dropout).</summary>
    protected abstract Tensor Update(Tensor x, FloraForwardPath path);

    /// <summary>The whole adapted output from one layer call with the adapted weight (no dropout: the fused path has none).</summary>
    protected abstract Tensor FusedOutput(Tensor input);

    /// <summary>The adapted output from the base layer's output on the factorised or materialised path.</summary>
    protected virtual Tensor UnfusedOutput(Tensor input, Tensor baseOutput, FloraForwardPath path)
    {
        using var scope = NewDisposeScope();
        return baseOutput.Plus(Update(AdapterInput(input), path)).MoveToOuterDisposeScope();
    }

    /// <summary>The adapter's input: <paramref name="input"/> after dropout while training.</summary>
    protected Tensor AdapterInput(Tensor input) => Dropout > 0 ? nn.functional.dropout(input, Dropout, training) : input;

    /// <inheritdoc />
    protected sealed override Tensor ForwardUnmerged(Tensor input)
    {
        FloraForwardPath path = ChoosePath(input, baseSkippable: true);
        return path == FloraForwardPath.Fused ? FusedOutput(input) : UnfusedOutput(input, BaseLayer.forward(input), path);
    }

    /// <inheritdoc />
    protected sealed override Tensor AdaptUnmerged(Tensor input, Tensor baseOutput) =>
        UnfusedOutput(input, baseOutput, ChoosePath(input, baseSkippable: false));

    /// <inheritdoc />
    internal sealed override Tensor? BeforeBaseCall(Tensor input)
    {
        _pending = null;
        if (ComputesAsBase) return null;
        bool skippable = input.dim() > 0 && input.shape[0] > 0 && IsBatched(input);
        FloraForwardPath path = ChoosePath(input, skippable);
        Tensor? standIn = path == FloraForwardPath.Fused ? input.narrow(0, 0, 0) : null;
        _pending = new PendingCall(input, standIn, path);
        return standIn;
    }

    /// <inheritdoc />
    internal sealed override Tensor AfterBaseCall(Tensor input, Tensor baseOutput)
    {
        PendingCall? pending = _pending;
        _pending = null;
        if (ComputesAsBase) return baseOutput;
        if (pending is { StandIn: { } standIn } && ReferenceEquals(input, standIn))
        {
            using (standIn) return FusedOutput(pending.Input);
        }
        if (pending is { StandIn: null } && ReferenceEquals(input, pending.Input))
            return UnfusedOutput(input, baseOutput, pending.Path);
        return Adapt(input, baseOutput); // another hook changed the input after ours: decide again for what the base layer saw
    }

    /// <summary>The path for this input (override, configuration, or cheapest), recorded in <see cref="LastPath"/>.</summary>
    private FloraForwardPath ChoosePath(Tensor input, bool baseSkippable)
    {
        bool fusable = baseSkippable && !(Dropout > 0 && training);
        FloraForwardPath? fixedPath = FloraCostModel.Fixed(ForwardPath, ConfiguredPath);
        FloraForwardPath path = fixedPath is { } chosen && (chosen != FloraForwardPath.Fused || fusable)
            ? chosen
            : EstimateCost(input.shape, FloraCostContext.Of(input, AdapterTrains())).Cheapest(fusable);
        LastPath = path;
        return path;
    }

    private bool AdapterTrains() => AdapterTensors.Any(t => t.Tensor.requires_grad);

    private sealed record PendingCall(Tensor Input, Tensor? StandIn, FloraForwardPath Path);
}
