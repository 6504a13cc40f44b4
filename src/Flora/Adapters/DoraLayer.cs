using System.Collections.Generic;
using System.Linq;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// A DoRA adapter (weight-decomposed LoRA): LoRA's <c>ΔW = s·B·A</c> plus a learned magnitude m per output channel
/// (<c>magnitude</c>, shape <c>[out]</c>, initialised to <c>‖W0‖</c> over every axis but out), so that the adapted weight
/// is <c>W' = m·(W0 + ΔW)/‖W0 + ΔW‖</c>. The norm is detached from the graph (DoRA paper §4.3, as PEFT does): it scales
/// the output but no gradient flows through it.
/// <para>
/// The forward is a function of the input and the base layer's output only (the base layer never runs twice): with
/// <c>f = m/‖W0 + ΔW‖</c> on the channel axis and b the base bias,
/// <c>y = base(x) + (f − 1)·(base(x) − b) + f·s·ΔW(x)</c>, which is <c>f·(W0 x + ΔW x) + b</c>. At initialisation
/// <c>f</c> is exactly 1 and ΔW exactly 0, so the output equals the base layer's bit for bit. Dropout, when configured,
/// applies to the LoRA branch only. ΔW is built once per forward for the norm; the materialised path reuses it. The fused
/// path runs one layer call with <c>W'</c> itself.
/// </para>
/// Merge writes <c>W'</c> into the base weight; unmerge divides by the factor used at merge time and subtracts ΔW
/// (float tolerance), or restores a copy of W0 kept at merge when some factor was 0 and W0 could not be recovered.
/// </summary>
public abstract class DoraLayer : LoraLayer
{
    private const string MagnitudeName = "magnitude";

    // Merge state. Null until a merge, so that RegisterComponents (which runs in LoraLayer's constructor) never sees them.
    private Tensor? _mergeFactor;
    private Tensor? _mergeOriginal;
    private Parameter _magnitude = null!;

    private protected DoraLayer(string name, nn.Module<Tensor, Tensor> baseLayer, LayerGeometry geometry, LoraLayerConfig config)
        : base(name, baseLayer, geometry, config)
    {
        using (no_grad())
        {
            // Computed exactly as the forward computes ‖W0 + ΔW‖ (in the adapter tensors' dtype), so that m/‖W0 + 0‖ is
            // exactly 1 at initialisation.
            using var zero = zeros(1, dtype: LoraB.dtype, device: LoraB.device);
            using var weight = geometry.Weight.Plus(zero);
            register_parameter(MagnitudeName, OwnedParameter(WeightNorm(weight)));
        }
        AdoptTensors(LoraTensorNames.Append((MagnitudeName, MagnitudeName)).ToArray());
    }

    /// <inheritdoc />
    public override FloraMethod Method => FloraMethod.Dora;

    /// <summary>The magnitude m, one per output channel (an Embedding's dim).</summary>
    public Parameter Magnitude => _magnitude;

    /// <inheritdoc />
    private protected override void OnTensorsRefreshed()
    {
        base.OnTensorsRefreshed();
        _magnitude = AdapterTensorOrNull(MagnitudeName)!; // null only inside LoraLayer's constructor, before the magnitude is registered
    }

    /// <inheritdoc />
    public override long TrainableParameters => BudgetMatching.LoraParameters(Geometry.WeightShape, Config.Rank, dora: true, Geometry.OutChannels);

    /// <inheritdoc />
    /// <remarks>DoRA's fused weight is rescaled per output channel: it builds alone.</remarks>
    internal override object? GroupKey => null;

    /// <inheritdoc />
    /// <remarks>DoRA builds ΔW every forward for its norm, and its unfused paths rescale the base output.</remarks>
    private protected override bool RescalesOutput => true;

    /// <inheritdoc />
    /// <remarks><c>y = base(x) + (f − 1)·(base(x) − b) + f·s·ΔW(x)</c> with <c>f = m/‖W0 + ΔW‖</c> on the channel axis, the norm without gradient.</remarks>
    private protected override Tensor AdaptUnfusedInAdapterDtype(Tensor input, Tensor baseOutput, FloraForwardPath path)
    {
        bool materialised = path == FloraForwardPath.Materialised;
        Tensor? delta = materialised ? BuildDelta() : null;
        Tensor norm;
        using (no_grad())
        {
            using Tensor? built = delta is null ? BuildDelta() : null;
            using var adapted = Geometry.Weight.Plus(built ?? delta!);
            norm = SafeNorm(adapted);
        }
        using (norm)
        using (delta)
        {
            using var ratio = Magnitude.div(norm);
            using var factor = ratio.reshape(Geometry.OutputChannelShape);
            Tensor x = AdapterInput(input);
            using var update = delta is null ? Update(x, path) : Geometry.Apply(x, delta, null);
            Parameter? bias = Geometry.Bias;
            using var bias1 = bias?.reshape(Geometry.OutputChannelShape);
            using var withoutBias = bias1 is null ? null : baseOutput.sub(bias1);
            // base + (f − 1)·(base − b) + f·update: exactly the base output while f = 1 and ΔW = 0.
            using var excess = factor.Minus(1);
            using var rescale = (withoutBias ?? baseOutput).mul(excess);
            using var scaledUpdate = update.mul(factor);
            using var rescaled = baseOutput.Plus(rescale);
            return rescaled.Plus(scaledUpdate);
        }
    }

    /// <inheritdoc />
    /// <remarks>The fused call's weight <c>W' = m·(W0 + ΔW)/‖W0 + ΔW‖</c> (the norm detached).</remarks>
    private protected override Tensor FusedWeight()
    {
        using var delta = BuildDelta();
        using var combined = Geometry.Weight.Plus(delta);
        using var ratio = MagnitudeOverNorm(combined);
        return Geometry.ScaleChannels(combined, ratio);
    }

    /// <summary><c>m/‖W‖</c> per output channel for the adapted weight <c>W = W0 + ΔW</c>, the norm without gradient (shape <c>[out]</c>).</summary>
    private Tensor MagnitudeOverNorm(Tensor adaptedWeight)
    {
        Tensor norm;
        using (no_grad()) norm = SafeNorm(adaptedWeight);
        using (norm) return Magnitude.div(norm);
    }

    /// <inheritdoc />
    protected override void MergeIntoBase()
    {
        using var scope = NewDisposeScope();
        Parameter weight = Geometry.Weight;
        Tensor delta = BuildDelta();
        Tensor factor = MagnitudeOverNorm(weight.Plus(delta));
        bool recoverable = factor.NotEqualTo(0).logical_and(factor.isfinite()).all().item<bool>();
        _mergeOriginal = recoverable ? null : weight.detach().clone().DetachFromDisposeScope();
        _mergeFactor = factor.DetachFromDisposeScope();
        Geometry.ScaleChannelsInPlace(weight.PlusInPlace(delta), factor);
    }

    /// <inheritdoc />
    protected override void UnmergeFromBase()
    {
        using var scope = NewDisposeScope();
        Parameter weight = Geometry.Weight;
        if (_mergeOriginal is not null)
        {
            weight.copy_(_mergeOriginal);
        }
        else
        {
            Tensor factor = _mergeFactor!.to(weight.dtype, weight.device);
            Geometry.ScaleChannelsInPlace(weight, factor, divide: true);
            weight.sub_(BuildDelta());
        }
        ReleaseMergeState();
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing) ReleaseMergeState();
        base.Dispose(disposing);
    }

    /// <summary>
    /// <c>‖W‖</c> per output channel, shape <c>[out]</c> (over every axis but out; for a transposed convolution over
    /// in/groups and the kernel axes of each output channel's slice): <c>sqrt(Σ w²)</c>, written without a scalar
    /// argument. TorchSharp 0.107's <c>linalg.vector_norm(w, 2, dims)</c> converts the order to a temporary native scalar
    /// that the garbage collector can finalise mid-call (<see cref="Scalars"/>); the main job crashed there once
    /// ("Unknown scalar type").
    /// </summary>
    private Tensor WeightNorm(Tensor weight) => Geometry.ChannelNorm(weight);

    /// <summary>The norm with zero rows replaced by 1, so that an all-zero channel gives a factor of m instead of NaN.</summary>
    private Tensor SafeNorm(Tensor weight)
    {
        using var norm = WeightNorm(weight);
        using var zero = norm.EqualTo(0);
        return norm.FilledWhere(zero, 1);
    }

    private void ReleaseMergeState()
    {
        _mergeFactor?.Dispose();
        _mergeOriginal?.Dispose();
        _mergeFactor = null;
        _mergeOriginal = null;
    }
}
