using System;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>A Linear layer: <c>[out, in]</c>, no groups, batched when the input has a row axis; every block is a matrix product.</summary>
internal sealed class LinearGeometry : LayerGeometry
{
    private readonly Func<Parameter> _weight;
    private readonly Func<Parameter?> _bias;

    public LinearGeometry(Func<Parameter> weight, Func<Parameter?> bias) : base(weight().shape, groups: 1)
    {
        if (WeightShape.Length != 2)
            throw new ArgumentException($"a Linear weight is [out, in]; got [{string.Join(", ", WeightShape)}]");
        _weight = weight;
        _bias = bias;
    }

    public override Parameter Weight => _weight();

    public override Parameter? Bias => _bias();

    internal override Tensor Apply(Tensor input, Tensor weight, Tensor? bias) => nn.functional.linear(input, weight, bias);

    /// <remarks><c>(x·rightᵀ)·leftᵀ</c>.</remarks>
    internal override Tensor LowRank(Tensor input, Tensor left, Tensor right)
    {
        using var reduced = nn.functional.linear(input, right);
        return nn.functional.linear(reduced, left);
    }

    /// <remarks><c>((x·U1)·Kᵀ)·U0ᵀ</c>.</remarks>
    internal override Tensor TuckerChain(Tensor input, Tensor mode0, Tensor mode1, Tensor kernel)
    {
        using var reduced = input.matmul(mode1);
        using var core = nn.functional.linear(reduced, kernel);
        return nn.functional.linear(core, mode0);
    }

    internal override bool IsBatched(long dimensions) => dimensions >= 2;

    internal override LayerExtent Extent(long[] inputShape)
    {
        double rows = 1;
        for (int i = 0; i < inputShape.Length - 1; i++) rows *= inputShape[i];
        return new LayerExtent(rows, 1, 1);
    }
}
