using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// A FLoRA adapter around a frozen base layer: <c>forward(x) = base(x) + s·Δ(x)</c> with
/// <c>ΔW = G ×1 U_out ×2 U_in ×3 U_k0 …</c> (the factors in the weight's mode order; a transposed convolution's weight
/// is <c>[in, out/groups, k…]</c>, so its mode 0 is in). The core G starts at zero and every factor with
/// <c>kaiming_normal_(a = √3)</c>, so the adapted layer starts exactly equal to the base layer.
/// Adapter tensors follow the base weight's device and dtype, float32 for a 16-bit base weight unless
/// <see cref="FloraLayerConfig.AutocastAdapterDtype"/> is off.
/// <para>
/// The factorised update is the base layer's <see cref="LayerGeometry"/> chain (<c>TuckerChain</c>) with the mode-0 and
/// mode-1 factors and the core kernel <c>s·G ×3 U_k0 ×4 U_k1 …</c>; for a convolution or a Linear it is
/// <c>Reduce(U_in)</c> → <c>Spatial(kernel)</c> → <c>Expand(U_out)</c> (a transposed convolution runs it the other way
/// round, see <c>TransposedConvolutionGeometry</c>): for a Linear <c>((x·U_in)·(s·G)ᵀ)·U_outᵀ</c>, for a
/// convolution a 1×1 convolution <c>in → r_in</c>, the core convolution <c>r_in → r_out</c> with the base layer's stride,
/// padding, padding mode and dilation, and a 1×1 convolution <c>r_out → out</c>, each per group, which is exactly the
/// grouped ΔW <c>[out, in/g, k…]</c>. ΔW and the core kernel are the product
/// <see cref="Tucker.Reconstruct(Tensor, IReadOnlyList{Tensor})"/> computes, as a few matrix products without transposes
/// of the full-size tensor (libtorch's einsum was measured 40× slower on the CPU for this five-operand contraction).
/// </para>
/// </summary>
public abstract class FloraLayer : DeltaAdapterLayer
{
    private const string CoreName = "core";

    private readonly long[] _deltaFlat, _deltaGrouped, _kernelBatched, _kernelShape;
    private readonly Scalar _scale;
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
        _scale = config.Scale.ToScalar();
        int modes = config.Ranks.Length;
        long[] shape = config.WeightShape;
        int[] r = config.Ranks;
        long kernel = 1;
        for (int m = 2; m < modes; m++) kernel *= shape[m];
        _deltaFlat = new long[] { r[0], -1 };
        _deltaGrouped = new long[] { shape[0], r[1], kernel };
        _kernelBatched = modes == 4 ? new long[] { (long)r[0] * r[1], r[2], r[3] } : Array.Empty<long>();
        _kernelShape = modes == 4 ? new long[] { r[0], r[1], shape[2], shape[3] } : Array.Empty<long>();
        var names = new List<(string Key, string Name)> { (CoreName, CoreName) };
        ScalarType dtype = AdapterDtypeFor(baseWeight, config.AutocastAdapterDtype);
        using (no_grad())
        {
            // Drawn in float32 on the CPU, then moved: the same seed gives the same factors on any device and dtype.
            // Detached from any dispose scope the caller has open: the adapter owns its tensors.
            var core = new Parameter(zeros(config.Ranks.Select(r => (long)r).ToArray(), dtype: dtype, device: baseWeight.device));
            register_parameter(CoreName, (Parameter)core.DetachFromDisposeScope());
            var factors = new FloraFactors();
            for (int mode = 0; mode < modes; mode++)
            {
                using var factor = empty(config.WeightShape[mode], config.Ranks[mode], dtype: ScalarType.Float32);
                nn.init.kaiming_normal_(factor, a: Math.Sqrt(3));
                var parameter = new Parameter(factor.to(dtype, baseWeight.device));
                string factorKey = FloraRankRules.FactorKey(mode, geometry.Transposed);
                factors.Add(factorKey, (Parameter)parameter.DetachFromDisposeScope());
                string key = FloraFactors.Name + "." + factorKey;
                names.Add((key, key));
            }
            register_module(FloraFactors.Name, factors);
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

    /// <summary>The factor of a mode (0 out, 1 in, 2.. kernel axes; a transposed convolution's 0 in, 1 out/groups), shaped <c>I_n × r_n</c>.</summary>
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

    /// <inheritdoc />
    /// <remarks>
    /// The core kernel <c>K = s·G ×3 U_k0 …</c> first (small), then <c>U_out·K₍₁₎</c> and, batched over out,
    /// <c>U_in·(…)</c>, which leaves ΔW contiguous in the weight's layout: two matrix products over the full size.
    /// </remarks>
    private protected override Tensor BuildDelta()
    {
        // s·G first: scaling the r-sized core costs nothing next to scaling the full-size ΔW (and its backward).
        using var scaledCore = _core.mul(_scale);
        using var kernel = CoreKernel(scaledCore);
        using var flat = (kernel ?? scaledCore).reshape(_deltaFlat);
        using var outProjected = _factors[0].matmul(flat);                  // [out, r_in·Πk]
        using var grouped = outProjected.reshape(_deltaGrouped);              // [out, r_in, Πk]
        using var full = _factors[1].matmul(grouped);                        // [out, in/g, Πk]
        return full.reshape(Config.WeightShape);
    }

    /// <summary><c>s·G ×3 U_k0 ×4 U_k1 …</c> (shape <c>[r_out, r_in, k…]</c>); null for a Linear (the scaled core is the kernel).</summary>
    private Tensor? CoreKernel(Tensor scaledCore)
    {
        switch (_kernelFactors.Length)
        {
            case 0:
                return null;
            case 1:
            {
                using var u = _kernelFactors[0].t();
                return scaledCore.matmul(u);                                   // [r_out, r_in, k]
            }
            case 2:
            {
                using var rows = scaledCore.reshape(_kernelBatched);           // [r_out·r_in, c, d]
                using var first = _kernelFactors[0].matmul(rows);              // [r_out·r_in, kh, d]
                using var u = _kernelFactors[1].t();
                using var both = first.matmul(u);                              // [r_out·r_in, kh, kw]
                return both.reshape(_kernelShape);
            }
            default:
                return Tucker.Reconstruct(scaledCore, _kernelFactors, firstMode: 2);
        }
    }

    /// <inheritdoc />
    internal override object? GroupKey => (GetType(), Config);

    /// <inheritdoc />
    /// <remarks>
    /// The batched Tucker product of the stacked cores <c>[n, r_out, r_in, r3…]</c> and factors <c>[n, I_m, r_m]</c>: the
    /// kernel modes first, then in, each one broadcast matrix product over the n members, and the out mode last as one
    /// batched product that adds the stacked base weights (<c>baddbmm</c>), so the full-size result is written once.
    /// </remarks>
    internal override Tensor BuildStacked(IReadOnlyList<DeltaAdapterLayer> members, bool includeBase)
    {
        int n = members.Count, modes = Config.Ranks.Length;
        var layers = new FloraLayer[n];
        for (int i = 0; i < n; i++) layers[i] = (FloraLayer)members[i];
        var sizes = new long[modes]; // the current tensor's modes: ranks, then full sizes from the last mode in
        for (int m = 0; m < modes; m++) sizes[m] = Config.Ranks[m];
        using var cores = Stack(layers, -1);
        Tensor current = cores.mul(_scale);
        try
        {
            for (int mode = modes - 1; mode >= 1; mode--)
            {
                using var factor = Stack(layers, mode);                                              // [n, I_m, r_m]
                long before = 1, after = 1;
                for (int m = 0; m < mode; m++) before *= sizes[m];
                for (int m = mode + 1; m < modes; m++) after *= sizes[m];
                Tensor next;
                if (after == 1)
                {
                    using var rows = current.reshape(n, before, sizes[mode]);
                    using var transposed = factor.transpose(1, 2);
                    next = rows.bmm(transposed);                                                    // [n, before, I_m]
                }
                else
                {
                    using var blocks = current.reshape(n, before, sizes[mode], after);
                    using var broadcast = factor.unsqueeze(1);
                    next = broadcast.matmul(blocks);                                                 // [n, before, I_m, after]
                }
                current.Dispose();
                current = next;
                sizes[mode] = Config.WeightShape[mode];
            }
            using var outFactor = Stack(layers, 0);                                                  // [n, out, r_out]
            using var rest = current.reshape(n, sizes[0], -1);
            return StackedWeights(members, outFactor, rest, includeBase);
        }
        finally
        {
            current.Dispose();
        }
    }

    /// <summary>The members' factors of <paramref name="mode"/> (their cores for -1) stacked on a new first axis.</summary>
    private static Tensor Stack(FloraLayer[] layers, int mode)
    {
        var tensors = new Tensor[layers.Length];
        for (int i = 0; i < tensors.Length; i++) tensors[i] = mode < 0 ? layers[i]._core : layers[i]._factors[mode];
        return stack(tensors);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing) _scale.Dispose();
        base.Dispose(disposing);
    }

    /// <inheritdoc />
    internal override FloraCostEstimate EstimateCost(long[] inputShape, FloraCostContext context)
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
        using var scaledCore = _core.mul(_scale);
        using var kernel = CoreKernel(scaledCore);
        return Geometry.TuckerChain(x, _factors[0], _factors[1], kernel ?? scaledCore);
    }

}
