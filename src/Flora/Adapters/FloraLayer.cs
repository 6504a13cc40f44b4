using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// A FLoRA adapter around a frozen base layer: <c>forward(x) = base(x) + s·Δ(x)</c> with
/// <c>ΔW = G ×1 U_out ×2 U_in ×3 U_k0 …</c>. The core G starts at zero and every factor with
/// <c>kaiming_normal_(a = √3)</c>, so the adapted layer starts exactly equal to the base layer.
/// Adapter tensors follow the base weight's dtype and device.
/// <para>
/// On the base layer's <see cref="LayerGeometry"/>, the factorised update is the chain <c>Reduce(U_in)</c> →
/// <c>Spatial(s·G ×3 U_k0 ×4 U_k1 …)</c> → <c>Expand(U_out)</c>: for a Linear <c>((x·U_in)·(s·G)ᵀ)·U_outᵀ</c>, for a
/// convolution a 1×1 convolution <c>in → r_in</c>, the core convolution <c>r_in → r_out</c> with the base layer's stride,
/// padding, padding mode and dilation, and a 1×1 convolution <c>r_out → out</c>, each per group, which is exactly the
/// grouped ΔW <c>[out, in/g, k…]</c>. ΔW and the core kernel are each one contraction (<c>einsum</c>) of the scaled core
/// with the factors, the same product as <see cref="Tucker.Reconstruct(Tensor, IReadOnlyList{Tensor})"/> in one native call.
/// </para>
/// </summary>
public abstract class FloraLayer : DeltaAdapterLayer
{
    private const string CoreName = "core";

    private readonly string _deltaEquation, _kernelEquation;
    private Parameter _core = null!;
    private Parameter[] _factors = Array.Empty<Parameter>();
    private Parameter[] _kernelFactors = Array.Empty<Parameter>();

    private protected FloraLayer(string name, nn.Module<Tensor, Tensor> baseLayer, LayerGeometry geometry, FloraLayerConfig config)
        : base(name, baseLayer, geometry)
    {
        ArgumentNullException.ThrowIfNull(config);
        Parameter baseWeight = geometry.Weight;
        if (!baseWeight.shape.SequenceEqual(config.WeightShape))
            throw new ArgumentException($"the configuration of '{name}' is for weight shape [{string.Join(", ", config.WeightShape)}] " +
                                        $"but the layer's weight is [{string.Join(", ", baseWeight.shape)}]");
        Config = config;
        int modes = config.Ranks.Length;
        string ranks = new string(Enumerable.Range(0, modes).Select(m => (char)('a' + m)).ToArray());
        string sizes = ranks.ToUpperInvariant();
        _deltaEquation = ranks + string.Concat(Enumerable.Range(0, modes).Select(m => $",{sizes[m]}{ranks[m]}")) + "->" + sizes;
        _kernelEquation = ranks + string.Concat(Enumerable.Range(2, Math.Max(0, modes - 2)).Select(m => $",{sizes[m]}{ranks[m]}")) + "->" + ranks[..2] + sizes[2..];
        var names = new List<(string Key, string Name)> { (CoreName, CoreName) };
        using (no_grad())
        {
            // Drawn in float32 on the CPU, then moved: the same seed gives the same factors on any device and dtype.
            // Detached from any dispose scope the caller has open: the adapter owns its tensors.
            var core = new Parameter(zeros(config.Ranks.Select(r => (long)r).ToArray(), dtype: baseWeight.dtype, device: baseWeight.device));
            register_parameter(CoreName, (Parameter)core.DetachFromDisposeScope());
            for (int mode = 0; mode < modes; mode++)
            {
                using var factor = empty(config.WeightShape[mode], config.Ranks[mode], dtype: ScalarType.Float32);
                nn.init.kaiming_normal_(factor, a: Math.Sqrt(3));
                var parameter = new Parameter(factor.to(baseWeight.dtype, baseWeight.device));
                string registered = "factor_" + FloraRankRules.FactorKey(mode);
                register_parameter(registered, (Parameter)parameter.DetachFromDisposeScope());
                names.Add(("factor." + FloraRankRules.FactorKey(mode), registered));
            }
        }
        RegisterComponents();
        AdoptTensors(names.ToArray());
    }

    /// <inheritdoc />
    public override FloraMethod Method => FloraMethod.Flora;

    /// <summary>The resolved ranks, scale, dropout and forward path.</summary>
    public FloraLayerConfig Config { get; }

    /// <summary>The core tensor G, shaped by the ranks.</summary>
    public Parameter Core => _core;

    /// <summary>The factor of a mode (0 out, 1 in, 2.. kernel axes), shaped <c>I_n × r_n</c>.</summary>
    public Parameter Factor(int mode) => _factors[mode];

    /// <summary>All factors in mode order.</summary>
    public IReadOnlyList<Parameter> Factors => _factors;

    /// <inheritdoc />
    public override AdapterSpec Spec => new(BaseLayer.GetType().Name, Config.WeightShape, Config.Ranks, Config.Scale);

    /// <inheritdoc />
    public override long TrainableParameters => Config.TrainableParameters;

    /// <inheritdoc />
    public override string Describe() => $"r=({string.Join(",", Config.Ranks)}) s={Config.Scale:G4}";

    /// <inheritdoc />
    private protected override void OnTensorsRefreshed()
    {
        var tensors = AdapterTensors;
        _core = tensors[0].Tensor;
        _factors = tensors.Skip(1).Select(t => t.Tensor).ToArray();
        _kernelFactors = _factors.Skip(2).ToArray();
    }

    /// <summary>The materialised update <c>s·ΔW</c> in the base weight's shape, dtype and device.</summary>
    public override Tensor Delta()
    {
        // s·G first: scaling the r-sized core costs nothing next to scaling the full-size ΔW (and its backward).
        using var scaledCore = _core.Times(Config.Scale);
        return einsum(_deltaEquation, Prepend(scaledCore, _factors));
    }

    /// <inheritdoc />
    public override FloraCostEstimate EstimateCost(long[] inputShape, FloraCostContext context)
    {
        LayerExtent extent = Geometry.Extent(inputShape);
        return FloraCostModel.Estimate(Config, Geometry.Groups, extent.Batch, extent.InputPositions, extent.OutputPositions, context);
    }

    /// <inheritdoc />
    protected override FloraForwardPath ConfiguredPath => Config.ForwardPath;

    /// <inheritdoc />
    protected override double Dropout => Config.Dropout;

    /// <inheritdoc />
    private protected override Tensor FactorisedUpdate(Tensor x)
    {
        using var scaledCore = _core.Times(Config.Scale);
        using var kernel = _kernelFactors.Length == 0 ? null : einsum(_kernelEquation, Prepend(scaledCore, _kernelFactors));
        using var reduced = Geometry.Reduce(x, _factors[1]);
        using var core = Geometry.Spatial(reduced, kernel ?? scaledCore);
        return Geometry.Expand(core, _factors[0]);
    }

    private static Tensor[] Prepend(Tensor first, Parameter[] rest)
    {
        var all = new Tensor[rest.Length + 1];
        all[0] = first;
        Array.Copy(rest, 0, all, 1, rest.Length);
        return all;
    }
}
