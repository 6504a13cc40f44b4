using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// A FLoRA adapter around a frozen base layer: <c>forward(x) = base(x) + s·Δ(x)</c> with
/// <c>ΔW = G ×1 U_out ×2 U_in ×3 U_k0 …</c>. The core G starts at zero and every factor with
/// <c>kaiming_normal_(a = √3)</c>, so the adapted layer starts exactly equal to the base layer.
/// Adapter tensors follow the base weight's dtype and device.
/// </summary>
public abstract class FloraLayer : DeltaAdapterLayer
{
    private const string CoreName = "core";

    private readonly string[] _factorNames;

    /// <summary>Creates the adapter's core and factors for <paramref name="baseWeight"/>'s shape under <paramref name="config"/>.</summary>
    protected FloraLayer(string name, nn.Module<Tensor, Tensor> baseLayer, Tensor baseWeight, FloraLayerConfig config)
        : base(name, baseLayer)
    {
        if (!baseWeight.shape.SequenceEqual(config.WeightShape))
            throw new ArgumentException($"the configuration of '{name}' is for weight shape [{string.Join(", ", config.WeightShape)}] " +
                                        $"but the layer's weight is [{string.Join(", ", baseWeight.shape)}]");
        Config = config;
        _factorNames = Enumerable.Range(0, config.Ranks.Length).Select(m => "factor_" + FloraRankRules.FactorKey(m)).ToArray();

        using (no_grad())
        {
            // Drawn in float32 on the CPU, then moved: the same seed gives the same factors on any device and dtype.
            // Detached from any dispose scope the caller has open: the adapter owns its tensors.
            var core = new Parameter(zeros(config.Ranks.Select(r => (long)r).ToArray(), dtype: baseWeight.dtype, device: baseWeight.device));
            register_parameter(CoreName, (Parameter)core.DetachFromDisposeScope());
            for (int mode = 0; mode < config.Ranks.Length; mode++)
            {
                using var factor = empty(config.WeightShape[mode], config.Ranks[mode], dtype: ScalarType.Float32);
                nn.init.kaiming_normal_(factor, a: Math.Sqrt(3));
                var parameter = new Parameter(factor.to(baseWeight.dtype, baseWeight.device));
                register_parameter(_factorNames[mode], (Parameter)parameter.DetachFromDisposeScope());
            }
        }
        RegisterComponents();
    }

    /// <inheritdoc />
    public override FloraMethod Method => FloraMethod.Flora;

    /// <summary>The resolved ranks, scale, dropout and forward path.</summary>
    public FloraLayerConfig Config { get; }

    /// <summary>The core tensor G, shaped by the ranks.</summary>
    public Parameter Core => get_parameter(CoreName)!;

    /// <summary>The factor of a mode (0 out, 1 in, 2.. kernel axes), shaped <c>I_n × r_n</c>.</summary>
    public Parameter Factor(int mode) => get_parameter(_factorNames[mode])!;

    /// <summary>All factors in mode order.</summary>
    public IReadOnlyList<Parameter> Factors => _factorNames.Select(n => get_parameter(n)!).ToArray();

    /// <inheritdoc />
    public override IReadOnlyList<(string Key, Parameter Tensor)> AdapterTensors =>
        new[] { (CoreName, Core) }.Concat(_factorNames.Select((n, m) => ("factor." + FloraRankRules.FactorKey(m), get_parameter(n)!))).ToArray();

    /// <inheritdoc />
    public override AdapterSpec Spec => new(BaseLayer.GetType().Name, Config.WeightShape, Config.Ranks, Config.Scale);

    /// <inheritdoc />
    public override long TrainableParameters => Config.TrainableParameters;

    /// <summary>The base layer's current weight (it changes object when the model moves between devices).</summary>
    protected abstract Parameter BaseWeight { get; }

    /// <inheritdoc />
    public override string Describe() => $"r=({string.Join(",", Config.Ranks)}) s={Config.Scale:G4}";

    /// <summary>The materialised update <c>s·ΔW</c> in the base weight's shape, dtype and device.</summary>
    public Tensor Delta()
    {
        using var scope = NewDisposeScope();
        // s·G first: scaling the r-sized core costs nothing next to scaling the full-size ΔW (and its backward).
        return Tucker.Reconstruct(Core.Times(Config.Scale), Factors).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    protected override FloraForwardPath ConfiguredPath => Config.ForwardPath;

    /// <inheritdoc />
    protected override double Dropout => Config.Dropout;

    /// <inheritdoc />
    protected override Tensor Update(Tensor x, FloraForwardPath path) =>
        path == FloraForwardPath.Materialised ? MaterialisedUpdate(x) : FactorisedUpdate(x);

    /// <inheritdoc />
    protected override Tensor FusedOutput(Tensor input)
    {
        using var scope = NewDisposeScope();
        return WithWeight(input, BaseWeight.Plus(Delta())).MoveToOuterDisposeScope();
    }

    /// <summary>The base layer's forward (its bias included) with <paramref name="weight"/> in place of its own weight.</summary>
    protected abstract Tensor WithWeight(Tensor input, Tensor weight);

    /// <summary><c>s·Δ(x)</c> without ever building ΔW.</summary>
    protected abstract Tensor FactorisedUpdate(Tensor input);

    /// <summary><c>s·Δ(x)</c> through the materialised ΔW.</summary>
    protected abstract Tensor MaterialisedUpdate(Tensor input);

    /// <inheritdoc />
    protected override void MergeIntoBase()
    {
        using var delta = Delta();
        BaseWeight.PlusInPlace(delta);
    }

    /// <inheritdoc />
    protected override void UnmergeFromBase()
    {
        using var delta = Delta();
        BaseWeight.sub_(delta);
    }
}
