using System;
using System.Collections.Generic;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// A LoRA adapter around a frozen base layer: <c>forward(x) = base(x) + s·ΔW(x)</c> with <c>ΔW = B·A</c> in the matrix
/// view of the base weight <c>[out, (in/groups)·Πk]</c> and <c>s = α/r</c> (or <c>α/√r</c> for rsLoRA). A (<c>lora_A</c>,
/// shaped like the base weight with r outputs, <c>[r, in/groups, k…]</c>) starts with <c>kaiming_uniform_(a = √5)</c> and
/// B (<c>lora_B</c>, <c>[out, r]</c>) at zero, as PEFT initialises them, so the adapted layer starts exactly equal to the
/// base layer. The unmerged forward runs factorised (A then B, never ΔW), materialised (ΔW as a second layer) or fused
/// (one layer with <c>W0 + ΔW</c>), chosen per call by <see cref="FloraCostModel"/> unless <c>ForwardPath</c> or the
/// configuration fixes it.
/// Adapter tensors follow the base weight's dtype and device.
/// </summary>
public abstract class LoraLayer : DeltaAdapterLayer
{
    private const string AName = "lora_A";
    private const string BName = "lora_B";

    private protected LoraLayer(string name, nn.Module<Tensor, Tensor> baseLayer, LoraGeometry geometry, LoraLayerConfig config)
        : base(name, baseLayer)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate(name);
        Config = config;
        Geometry = geometry;
        Parameter weight = geometry.Weight;
        using (no_grad())
        {
            // Drawn in float32 on the CPU, then moved: the same seed gives the same A on any device and dtype.
            using var initial = empty(geometry.AShape(config.Rank), dtype: ScalarType.Float32);
            nn.init.kaiming_uniform_(initial, a: Math.Sqrt(5));
            register_parameter(AName, OwnedParameter(initial.to(weight.dtype, weight.device)));
            register_parameter(BName, OwnedParameter(zeros(new[] { weight.shape[0], config.Rank }, dtype: weight.dtype, device: weight.device)));
        }
        RegisterComponents();
    }

    /// <inheritdoc />
    public override FloraMethod Method => FloraMethod.Lora;

    /// <summary>The rank, α, dropout, forward path and, when budget matching chose the rank, the budget it matched.</summary>
    public LoraLayerConfig Config { get; }

    /// <summary>A, shaped <c>[r, in/groups, k…]</c> (<c>[r, in]</c> for a Linear).</summary>
    public Parameter LoraA => get_parameter(AName)!;

    /// <summary>B, shaped <c>[out, r]</c>.</summary>
    public Parameter LoraB => get_parameter(BName)!;

    /// <inheritdoc />
    public override IReadOnlyList<(string Key, Parameter Tensor)> AdapterTensors => new[] { (AName, LoraA), (BName, LoraB) };

    /// <inheritdoc />
    public override AdapterSpec Spec => new(BaseLayer.GetType().Name, Geometry.Weight.shape, new[] { Config.Rank }, Config.Scale)
    {
        LoraAlpha = Config.EffectiveAlpha,
        UseRsLora = Config.UseRsLora,
    };

    /// <inheritdoc />
    public override long TrainableParameters => BudgetMatching.LoraParameters(Geometry.Weight.shape, Config.Rank, dora: false);

    /// <summary>How the update lies on the base layer's type.</summary>
    private protected LoraGeometry Geometry { get; }

    /// <inheritdoc />
    public override string Describe() => $"r={Config.Rank} α={Config.EffectiveAlpha:G4}" + (Config.UseRsLora ? " rsLoRA" : "");

    /// <summary>The materialised update <c>s·ΔW = s·reshape(B·A)</c> in the base weight's shape, dtype and device.</summary>
    public Tensor Delta()
    {
        using var scope = NewDisposeScope();
        Tensor a = LoraA;
        return LoraB.matmul(a.reshape(a.shape[0], -1)).TimesInPlace(Config.Scale).reshape(Geometry.Weight.shape).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public override FloraCostEstimate EstimateCost(long[] inputShape, FloraCostContext context) => Geometry.Estimate(inputShape, Config.Rank, dora: false, context);

    /// <inheritdoc />
    protected override FloraForwardPath ConfiguredPath => Config.ForwardPath;

    /// <inheritdoc />
    protected override double Dropout => Config.Dropout;

    /// <inheritdoc />
    protected override bool IsBatched(Tensor input) => Geometry.IsBatched(input);

    /// <inheritdoc />
    protected override Tensor Update(Tensor x, FloraForwardPath path) => Update(x, path, delta: null);

    /// <inheritdoc />
    protected override Tensor FusedOutput(Tensor input)
    {
        using var scope = NewDisposeScope();
        return Geometry.Apply(input, Geometry.Weight.Plus(Delta()), Geometry.Bias).MoveToOuterDisposeScope();
    }

    /// <summary><c>s·ΔW(x)</c> on <paramref name="path"/>; the materialised path uses <paramref name="delta"/> when the caller built it already.</summary>
    private protected Tensor Update(Tensor x, FloraForwardPath path, Tensor? delta)
    {
        if (path != FloraForwardPath.Materialised)
            return Geometry.Factorised(x, LoraA, LoraB, Config.Scale);
        if (delta is not null)
            return Geometry.Apply(x, delta, bias: null);
        using var built = Delta();
        return Geometry.Apply(x, built, bias: null);
    }

    /// <inheritdoc />
    protected override void MergeIntoBase()
    {
        using var delta = Delta();
        Geometry.Weight.PlusInPlace(delta);
    }

    /// <inheritdoc />
    protected override void UnmergeFromBase()
    {
        using var delta = Delta();
        Geometry.Weight.sub_(delta);
    }

    /// <summary>A parameter owned by this module: outside any dispose scope, so that it lives as long as the module.</summary>
    private protected static Parameter OwnedParameter(Tensor value)
    {
        var parameter = new Parameter(value);
        parameter.DetachFromDisposeScope();
        return parameter;
    }
}
