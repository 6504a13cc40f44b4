using System;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// One projection of a <see cref="MultiheadAttention"/> seen as a Linear layer: <c>in_proj</c> (weight
/// <c>in_proj_weight</c> <c>[3·embed, embed]</c>, bias <c>in_proj_bias</c>) or <c>out_proj</c> (<c>out_proj.weight</c>
/// <c>[embed, embed]</c>, <c>out_proj.bias</c>). It owns no parameters: it reads the attention layer's own, so an adapter
/// on it (its base layer) merges into them and BitFit trains their bias in place. <see cref="FloraMultiheadAttention"/>
/// calls it where TorchSharp's attention applies the projection. It keeps the two parameters
/// in fields (no name lookup per call) and reads them again after the layer moves (<see cref="Refresh"/>).
/// </summary>
internal sealed class MultiheadAttentionProjection : nn.Module<Tensor, Tensor>
{
    // The attention layer's parameter lookup, not the layer itself: a Module-typed field would become a child (RegisterComponents).
    private readonly Func<string, Parameter?> _parameter;
    private readonly string _weightName;
    private readonly string _biasName;
    private Parameter _weight;
    private Parameter? _bias;

    public MultiheadAttentionProjection(MultiheadAttention attention, string name, string weightName, string biasName) : base(name)
    {
        _parameter = attention.get_parameter;
        _weightName = weightName;
        _biasName = biasName;
        (_weight, _bias) = Lookup();
        Geometry = LayerGeometry.Linear(() => Weight, () => Bias);
    }

    /// <summary>The attention layer's weight of this projection (kept from the last <see cref="Refresh"/>).</summary>
    public Parameter Weight => _weight;

    /// <summary>The attention layer's bias of this projection, or null when it was built with <c>bias: false</c>.</summary>
    public Parameter? Bias => _bias;

    /// <summary>The Linear geometry every delta adapter and BitFit computes with.</summary>
    public LayerGeometry Geometry { get; }

    /// <summary>Reads the attention layer's weight and bias again: TorchSharp replaces its Parameter objects when it moves or converts.</summary>
    public void Refresh() => (_weight, _bias) = Lookup();

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => nn.functional.linear(input, _weight, _bias);

    /// <inheritdoc />
    protected override void _toEpilog(ScalarType? dtype, Device? device, bool non_blocking)
    {
        base._toEpilog(dtype, device, non_blocking);
        Refresh();
    }

    private (Parameter Weight, Parameter? Bias) Lookup() =>
        (_parameter(_weightName) ?? throw new InvalidOperationException($"This MultiheadAttention has no parameter '{_weightName}'."), _parameter(_biasName));
}
