using System;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// One projection of a <see cref="MultiheadAttention"/> seen as a Linear layer: <c>in_proj</c> (weight
/// <c>in_proj_weight</c> <c>[3·embed, embed]</c>, bias <c>in_proj_bias</c>) or <c>out_proj</c> (<c>out_proj.weight</c>
/// <c>[embed, embed]</c>, <c>out_proj.bias</c>). It owns no parameters: it reads the attention layer's own, so an adapter
/// on it (its base layer) merges into them and BitFit trains their bias in place. <see cref="FloraMultiheadAttention"/>
/// calls it where TorchSharp's attention applies the projection.
/// </summary>
internal sealed class MultiheadAttentionProjection : nn.Module<Tensor, Tensor>
{
    // The attention layer's parameter lookup, not the layer itself: a Module-typed field would become a child (RegisterComponents).
    private readonly Func<string, Parameter?> _parameter;
    private readonly string _weightName;
    private readonly string _biasName;

    public MultiheadAttentionProjection(MultiheadAttention attention, string name, string weightName, string biasName) : base(name)
    {
        _parameter = attention.get_parameter;
        _weightName = weightName;
        _biasName = biasName;
        Geometry = LayerGeometry.Linear(() => Weight, () => Bias);
    }

    /// <summary>The attention layer's weight of this projection (read each time: TorchSharp replaces it when the model moves).</summary>
    public Parameter Weight => _parameter(_weightName)
                               ?? throw new InvalidOperationException($"This MultiheadAttention has no parameter '{_weightName}'.");

    /// <summary>The attention layer's bias of this projection, or null when it was built with <c>bias: false</c>.</summary>
    public Parameter? Bias => _parameter(_biasName);

    /// <summary>The Linear geometry every delta adapter and BitFit computes with.</summary>
    public LayerGeometry Geometry { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => nn.functional.linear(input, Weight, Bias);
}
