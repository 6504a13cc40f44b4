using System;
using System.Collections.Generic;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// BitFit: only the target's bias trains. The adapter's one tensor (key <c>bias</c> in adapter files) is the base
/// layer's own bias Parameter, so the adapted layer is the base layer itself: the forward adds nothing, and merge and
/// unmerge do nothing but flip the merge state.
/// <para>
/// A target without a bias contributes 0 trainable parameters and says so in <see cref="Describe"/> (<c>no bias</c>).
/// This is deliberate: BitFit fine-tunes the biases a model already has. Adding one would change the base architecture,
/// could not be merged into a layer that has none, and would no longer be BitFit.
/// </para>
/// Training changes the base bias in place, so the adapter keeps a copy of the values the bias had at attach and
/// detaching restores them: detach gives back the exact base model, bit for bit.
/// </summary>
public sealed class BitFitLayer : AdapterLayer
{
    private const string BiasName = "bias";

    private readonly Func<Parameter?> _bias;
    private OriginalValues? _biasAtAttach;

    /// <summary>Wraps <paramref name="baseLayer"/>, whose parameter named <c>bias</c> (if any) becomes the trainable tensor.</summary>
    public BitFitLayer(string name, nn.Module<Tensor, Tensor> baseLayer)
        : this(name, baseLayer ?? throw new ArgumentNullException(nameof(baseLayer)), () => baseLayer.get_parameter(BiasName),
            baseLayer.get_parameter("weight")?.shape ?? Array.Empty<long>())
    {
    }

    /// <summary>Wraps <paramref name="baseLayer"/>, whose bias <paramref name="bias"/> reads (a layer that keeps it elsewhere: a <see cref="MultiheadAttention"/>'s projection).</summary>
    internal BitFitLayer(string name, nn.Module<Tensor, Tensor> baseLayer, Func<Parameter?> bias, long[] weightShape) : base(name, baseLayer)
    {
        _bias = bias;
        WeightShape = weightShape;
        RegisterComponents();
        // Kept outside the module: the copy neither appears in state_dict nor moves with the model.
        _biasAtAttach = new OriginalValues(BiasTensor);
    }

    /// <summary>The bias as the one tensor BitFit trains in place, or nothing for a layer without one.</summary>
    private IEnumerable<(string Key, Tensor Tensor)> BiasTensor() =>
        Bias is Parameter bias ? new[] { (BiasName, (Tensor)bias) } : Array.Empty<(string, Tensor)>();

    /// <inheritdoc />
    public override FloraMethod Method => FloraMethod.BitFit;

    /// <summary>The base layer's bias (the trainable tensor), or null when the layer has none.</summary>
    public Parameter? Bias => _bias();

    /// <summary>The base layer's weight shape, recorded in adapter files to identify the layer.</summary>
    public long[] WeightShape { get; }

    /// <inheritdoc />
    public override IReadOnlyList<(string Key, Parameter Tensor)> AdapterTensors =>
        Bias is Parameter bias ? new[] { (BiasName, bias) } : Array.Empty<(string, Parameter)>();

    /// <inheritdoc />
    /// <remarks>BitFit has no ranks; its scale is 1 (the bias is used as it is).</remarks>
    public override AdapterSpec Spec => new(BaseLayer.GetType().Name, WeightShape, Array.Empty<int>(), 1.0);

    /// <inheritdoc />
    public override long TrainableParameters => Bias?.numel() ?? 0;

    /// <inheritdoc />
    public override string Describe() => Bias is Parameter bias ? $"bias[{bias.shape[0]}]" : "no bias";

    /// <inheritdoc />
    protected override Tensor AdaptUnmerged(Tensor input, Tensor baseOutput) => baseOutput;

    /// <inheritdoc />
    protected override void MergeIntoBase()
    {
    }

    /// <inheritdoc />
    protected override void UnmergeFromBase()
    {
    }

    /// <summary>Switched off, the bias holds its values of attach time; switched on again, its trained values.</summary>
    private protected override void OnEnabledChanged(bool enabled) => _biasAtAttach?.Swap();

    /// <summary>Restores the bias values the layer had at attach.</summary>
    internal override void OnDetach(bool keepUpdate)
    {
        if (!keepUpdate) _biasAtAttach?.Restore();
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _biasAtAttach?.Dispose();
            _biasAtAttach = null;
        }
        base.Dispose(disposing);
    }
}
