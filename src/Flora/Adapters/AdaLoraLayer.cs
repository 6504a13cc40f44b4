using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Globalization;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// An AdaLoRA adapter (Zhang et al. 2023; PEFT's <c>SVDLinear</c> and <c>SVDConv2d</c>) around a frozen base layer, in
/// the matrix view of the base weight <c>[out, K]</c>, <c>K = (in/groups)·Πk</c>: the update is the SVD-form
/// <c>ΔW = reshape(P·(Q⊙Λ))·α/(ranknum + 1e-5)</c> with Q (<c>lora_A</c>, <c>[r, K]</c>, stored flattened as PEFT's
/// <c>SVDConv2d</c> does), the singular values Λ (<c>lora_E</c>, <c>[r, 1]</c>) and P (<c>lora_B</c>, <c>[out, r]</c>);
/// <c>ranknum</c> is the initial rank r, a constant. As PEFT initialises them, Λ starts at zero and Q and P are drawn from
/// <c>normal(0, 0.02)</c> (in float32 on the CPU, then moved: the same seed gives the same values on any device), so the
/// adapted layer starts exactly equal to the base layer.
/// <para>
/// The rank allocation (<see cref="FloraAttachment.UpdateAndAllocate"/>) masks the least important triplets
/// <c>(P[:, i], Λ[i], Q[i, :])</c> by zeroing their Λ entry, as PEFT does; <see cref="RankPattern"/> records which
/// triplets the last allocation kept, <see cref="ActiveRank"/> how many. The tensors keep their full initial size: a
/// masked triplet keeps training until the next allocation, exactly as in PEFT.
/// </para>
/// <para>
/// The unmerged forward runs factorised (<c>Q⊙Λ</c> as a kernel <c>[r, in/groups, k…]</c> with the base layer's own
/// sliding, then P as <c>r → out</c>; per group for grouped and depthwise convolutions, which PEFT cannot adapt),
/// materialised (ΔW as a second layer) or fused (one layer with <c>W0 + ΔW</c>), chosen as for LoRA. Adapter tensors
/// follow the base weight's device and dtype, float32 beside a 16-bit base unless
/// <see cref="AdaLoraLayerConfig.AutocastAdapterDtype"/> is off.
/// </para>
/// </summary>
public sealed class AdaLoraLayer : DeltaAdapterLayer
{
    private const string AName = "lora_A";
    private const string BName = "lora_B";
    private const string EName = "lora_E";

    /// <summary>PEFT's initialisation of Q and P: <c>normal_(mean=0, std=0.02)</c>.</summary>
    private const double InitialStd = 0.02;

    private static readonly Scalar Zero = 0.0.ToScalar();

    private Parameter _a = null!, _b = null!, _e = null!;
    private readonly long[] _kernelShape;
    private readonly Scalar _scale;
    private readonly bool[] _rankPattern;
    private readonly ReadOnlyCollection<bool> _rankPatternView;
    private Tensor? _masked; // ¬pattern as [r, 1] on the tensors' device, built when first needed

    /// <summary>Wraps <paramref name="baseLayer"/>, read through <paramref name="geometry"/>, with an AdaLoRA adapter configured by <paramref name="config"/>.</summary>
    internal AdaLoraLayer(string name, nn.Module<Tensor, Tensor> baseLayer, LayerGeometry geometry, AdaLoraLayerConfig config)
        : base(name, baseLayer, geometry)
    {
        if (geometry.TakesIndices)
            throw new ArgumentException($"'{name}' is an Embedding: AdaLoRA is not supported on embeddings (PEFT's AdaLoRA has no embedding layer). " +
                                        "Use FLoRA or LoRA on embeddings, or leave the embedding out of the targets.");
        ArgumentNullException.ThrowIfNull(config);
        config.Validate(name);
        Config = config;
        _scale = config.Scale.ToScalar();
        _rankPattern = Enumerable.Repeat(true, config.Rank).ToArray();
        _rankPatternView = Array.AsReadOnly(_rankPattern);
        ActiveRank = config.Rank;
        _kernelShape = (long[])geometry.WeightShape.Clone();
        _kernelShape[0] = config.Rank;
        long columns = geometry.WeightShape.Skip(1).Aggregate(1L, (a, b) => a * b);
        Parameter weight = geometry.Weight;
        ScalarType dtype = AdapterDtypeFor(weight, config.AutocastAdapterDtype);
        using (no_grad())
        {
            // Drawn in float32 on the CPU, then moved: the same seed gives the same Q and P on any device and dtype.
            using var a = empty(new[] { config.Rank, columns }, dtype: ScalarType.Float32);
            nn.init.normal_(a, 0, InitialStd);
            using var b = empty(new[] { geometry.WeightShape[0], config.Rank }, dtype: ScalarType.Float32);
            nn.init.normal_(b, 0, InitialStd);
            register_parameter(AName, Owned(a.to(dtype, weight.device)));
            register_parameter(BName, Owned(b.to(dtype, weight.device)));
            register_parameter(EName, Owned(zeros(new[] { (long)config.Rank, 1 }, dtype: dtype, device: weight.device)));
        }
        RegisterComponents();
        AdoptTensors((AName, AName), (BName, BName), (EName, EName));
    }

    /// <inheritdoc />
    private protected override void OnTensorsRefreshed()
    {
        _a = AdapterTensor(AName);
        _b = AdapterTensor(BName);
        _e = AdapterTensor(EName);
        _masked?.Dispose();
        _masked = null;
    }

    /// <inheritdoc />
    public override FloraMethod Method => FloraMethod.AdaLora;

    /// <summary>The initial and target rank, α, dropout and forward path.</summary>
    public AdaLoraLayerConfig Config { get; }

    /// <summary>Q, the right singular vectors, <c>[r, (in/groups)·Πk]</c> (<c>[r, in]</c> for a Linear).</summary>
    public Parameter LoraA => _a;

    /// <summary>P, the left singular vectors, <c>[out, r]</c>.</summary>
    public Parameter LoraB => _b;

    /// <summary>Λ, the singular values, <c>[r, 1]</c>; a masked triplet's entry is zeroed by the allocation.</summary>
    public Parameter LoraE => _e;

    /// <summary>Which triplets the last allocation kept (PEFT's <c>rank_pattern</c> entry for this layer); all true before the first.</summary>
    public IReadOnlyList<bool> RankPattern => _rankPatternView;

    /// <summary>The number of triplets the last allocation kept (the initial rank before the first).</summary>
    public int ActiveRank { get; private set; }

    /// <inheritdoc />
    public override AdapterSpec Spec => new(BaseLayer.GetType().Name, Geometry.WeightShape, new[] { Config.Rank, Config.EffectiveRankNum }, Config.Scale)
    {
        LoraAlpha = Config.EffectiveAlpha,
        TargetRank = Config.TargetRank,
    };

    /// <inheritdoc />
    /// <remarks>Q, Λ and P: <c>r·(K + 1 + out)</c>, whatever the allocation masks (masked triplets still train).</remarks>
    public override long TrainableParameters => BaselineSizeRules.AdaLoraParameters(Geometry.WeightShape, Config.Rank);

    /// <inheritdoc />
    /// <remarks>
    /// E.g. <c>r=12→8 α=12</c> (initial → target rank), with <c>, 9 kept</c> once an allocation masked triplets and the
    /// match a clamp changed.
    /// </remarks>
    public override string Describe() =>
        $"r={Config.Rank}→{Config.TargetRank}"
        + (Config.UnclampedTargetRank is int matched ? $" (matched {matched}, clamped to InitRank)" : "")
        + $" α={Config.EffectiveAlpha.ToString("G4", CultureInfo.CurrentCulture)}"
        + (ActiveRank < Config.Rank ? $", {ActiveRank} kept" : "");

    /// <summary>
    /// Records which triplets are kept (<paramref name="kept"/>, one per triplet). The tensors are not touched:
    /// <see cref="ApplyRankPattern"/> zeroes the masked Λ entries.
    /// </summary>
    internal void SetRankPattern(IReadOnlyList<bool> kept)
    {
        if (kept.Count != _rankPattern.Length)
            throw new ArgumentException($"a rank pattern for '{Name}' has {kept.Count} entries, but the adapter has {_rankPattern.Length} triplets.", nameof(kept));
        int active = 0;
        for (int i = 0; i < _rankPattern.Length; i++)
        {
            _rankPattern[i] = kept[i];
            if (kept[i]) active++;
        }
        ActiveRank = active;
        _masked?.Dispose();
        _masked = null;
    }

    /// <summary>Zeroes Λ's entries of the masked triplets (PEFT's <c>mask_using_rank_pattern</c>); call without gradient tracking.</summary>
    internal void ApplyRankPattern()
    {
        if (ActiveRank == _rankPattern.Length) return;
        if (_masked is null)
        {
            using var masked = tensor(_rankPattern.Select(k => !k).ToArray());
            using var column = masked.reshape(_rankPattern.Length, 1);
            _masked = column.to(_e.device).DetachFromDisposeScope();
        }
        _e.masked_fill_(_masked, Zero);
    }

    /// <summary>
    /// This adapter's part of the orthogonality regulariser: <c>‖QQᵀ − I‖_F</c> and <c>‖PᵀP − I‖_F</c> (PEFT's
    /// <c>p @ p.T</c> for <c>lora_A</c>, <c>p.T @ p</c> for <c>lora_B</c>), differentiable.
    /// </summary>
    internal (Tensor A, Tensor B) OrthogonalityTerms()
    {
        using var identity = eye(Config.Rank, dtype: _a.dtype, device: _a.device);
        using var covarianceA = _a.matmul(_a.t());
        using var offA = covarianceA.sub(identity);
        using var covarianceB = _b.t().matmul(_b);
        using var offB = covarianceB.sub(identity);
        return (linalg.matrix_norm(offA, "fro"), linalg.matrix_norm(offB, "fro"));
    }

    /// <inheritdoc />
    /// <remarks><c>s·ΔW = s·reshape(P·(Q⊙Λ))</c>.</remarks>
    private protected override Tensor BuildDelta()
    {
        using var weighted = _a.mul(_e);
        using var product = _b.matmul(weighted);
        return product.mul_(_scale).reshape(Geometry.WeightShape);
    }

    /// <inheritdoc />
    /// <remarks><c>Q⊙Λ</c> as the base layer's own sliding (<c>in → r</c> per group), then P as <c>r → out</c>; s scales the small P.</remarks>
    private protected override Tensor FactorisedUpdate(Tensor x)
    {
        using var weighted = _a.mul(_e);
        using var kernel = weighted.reshape(_kernelShape);
        using var up = _b.mul(_scale);
        return Geometry.LowRank(x, up, kernel);
    }

    /// <inheritdoc />
    /// <remarks>The factorised chain is LoRA's (a kernel of r outputs, then a 1×1 of r inputs); <c>Q⊙Λ</c> adds an r×K product.</remarks>
    internal override FloraCostEstimate EstimateCost(long[] inputShape, FloraCostContext context) =>
        FloraCostModel.EstimateLora(Geometry.WeightShape, Geometry.Groups, Config.Rank, Geometry.Extent(inputShape), false, context);

    /// <inheritdoc />
    protected override FloraForwardPath ConfiguredPath => Config.ForwardPath;

    /// <inheritdoc />
    protected override double Dropout => Config.Dropout;

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _scale.Dispose();
            _masked?.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <summary>A parameter owned by this module: outside any dispose scope, so that it lives as long as the module.</summary>
    private static Parameter Owned(Tensor value)
    {
        var parameter = new Parameter(value);
        parameter.DetachFromDisposeScope();
        return parameter;
    }
}
