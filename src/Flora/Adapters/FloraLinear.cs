using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// FLoRA on a <see cref="Linear"/> layer: <c>ΔW = U_out G U_inᵀ</c>. The factorised path computes
/// <c>((x·U_in)·(s·G)ᵀ)·U_outᵀ</c> and never builds the full matrix.
/// </summary>
public sealed class FloraLinear : FloraLayer
{
    private readonly Linear _linear;

    /// <summary>Wraps <paramref name="baseLayer"/> with a FLoRA adapter configured by <paramref name="config"/>.</summary>
    public FloraLinear(string name, Linear baseLayer, FloraLayerConfig config) : base(name, baseLayer, baseLayer.weight, config)
    {
        _linear = baseLayer;
    }

    /// <summary>The wrapped base layer.</summary>
    public Linear Base => _linear;

    /// <inheritdoc />
    protected override Parameter BaseWeight => _linear.weight;

    /// <inheritdoc />
    public override FloraCostEstimate EstimateCost(long[] inputShape, FloraCostContext context)
    {
        double rows = 1;
        for (int i = 0; i < inputShape.Length - 1; i++) rows *= inputShape[i];
        return FloraCostModel.Estimate(Config, groups: 1, batch: rows, inputPositions: 1, outputPositions: 1, context);
    }

    /// <inheritdoc />
    protected override bool IsBatched(Tensor input) => input.dim() >= 2;

    /// <inheritdoc />
    protected override Tensor WithWeight(Tensor input, Tensor weight) => nn.functional.linear(input, weight, _linear.bias);

    /// <inheritdoc />
    protected override Tensor FactorisedUpdate(Tensor input)
    {
        using var scope = NewDisposeScope();
        Tensor scaledCore = Core.Times(Config.Scale);
        Tensor projected = input.matmul(Factor(1));
        return projected.matmul(scaledCore.t()).matmul(Factor(0).t()).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    protected override Tensor MaterialisedUpdate(Tensor input)
    {
        using var delta = Delta();
        return nn.functional.linear(input, delta);
    }
}
