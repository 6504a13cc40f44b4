using System;
using System.Collections.Generic;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// A LoRA adapter around a frozen base layer: <c>forward(x) = base(x) + s·ΔW(x)</c> with <c>ΔW = B·A</c> in the matrix
/// view of the base weight <c>[out, (in/groups)·Πk]</c> and <c>s = α/r</c> (or <c>α/√r</c> for rsLoRA). A (<c>lora_A</c>,
/// shaped like the base weight with r outputs, <c>[r, in/groups, k…]</c>) starts with <c>kaiming_uniform_(a = √5)</c> and
/// B (<c>lora_B</c>, <c>[out, r]</c>) at zero, as PEFT initialises them, so the adapted layer starts exactly equal to the
/// base layer. A transposed convolution's weight <c>[in, out/groups, k…]</c> is viewed the same way in its own layout,
/// <c>[in, (out/groups)·Πk]</c>: B <c>[in, r]</c>, A <c>[r, out/groups, k…]</c>. The unmerged forward runs factorised (A then B, never ΔW), materialised (ΔW as a second layer) or fused
/// (one layer with <c>W0 + ΔW</c>), chosen per call by the cost model (<see cref="DeltaAdapterLayer.EstimateCost(long[])"/>) unless <c>ForwardPath</c> or the
/// configuration fixes it.
/// Adapter tensors follow the base weight's device and dtype, float32 for a 16-bit base weight unless
/// <see cref="LoraLayerConfig.AutocastAdapterDtype"/> is off.
/// </summary>
public abstract class LoraLayer : DeltaAdapterLayer
{
    private const string AName = "lora_A";
    private const string BName = "lora_B";
    private const string EmbeddingAName = "lora_embedding_A";
    private const string EmbeddingBName = "lora_embedding_B";

    private Parameter _a = null!, _b = null!;
    private readonly long[] _matrixShape;
    private readonly Scalar _scale;

    private protected LoraLayer(string name, nn.Module<Tensor, Tensor> baseLayer, LayerGeometry geometry, LoraLayerConfig config)
        : base(name, baseLayer, geometry)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate(name);
        Config = config;
        _scale = config.Scale.ToScalar();
        Parameter weight = geometry.Weight;
        ScalarType dtype = AdapterDtypeFor(weight, config.AutocastAdapterDtype);
        _matrixShape = new long[] { config.Rank, -1 };
        if (geometry.TakesIndices)
        {
            InitialiseEmbedding(weight, dtype);
            return;
        }
        using (no_grad())
        {
            // Drawn in float32 on the CPU, then moved: the same seed gives the same A on any device and dtype.
            long[] aShape = (long[])geometry.WeightShape.Clone();
            aShape[0] = config.Rank;
            using var initial = empty(aShape, dtype: ScalarType.Float32);
            nn.init.kaiming_uniform_(initial, a: Math.Sqrt(5));
            register_parameter(AName, OwnedParameter(initial.to(dtype, weight.device)));
            register_parameter(BName, OwnedParameter(zeros(new[] { weight.shape[0], config.Rank }, dtype: dtype, device: weight.device)));
        }
        RegisterComponents();
        AdoptTensors((AName, AName), (BName, BName));
    }

    /// <summary>
    /// PEFT's Embedding LoRA: <c>lora_embedding_A</c> <c>[r, num_embeddings]</c> at zero and <c>lora_embedding_B</c>
    /// <c>[dim, r]</c> drawn from <c>normal_</c> (PEFT's <c>reset_lora_parameters</c> for embeddings), under PEFT's names.
    /// </summary>
    private void InitialiseEmbedding(Parameter weight, ScalarType dtype)
    {
        using (no_grad())
        {
            // Drawn in float32 on the CPU, then moved: the same seed gives the same B on any device and dtype.
            using var initial = empty(new[] { weight.shape[1], Config.Rank }, dtype: ScalarType.Float32);
            nn.init.normal_(initial);
            register_parameter(EmbeddingAName, OwnedParameter(zeros(new[] { Config.Rank, weight.shape[0] }, dtype: dtype, device: weight.device)));
            register_parameter(EmbeddingBName, OwnedParameter(initial.to(dtype, weight.device)));
        }
        RegisterComponents();
        AdoptTensors((EmbeddingAName, EmbeddingAName), (EmbeddingBName, EmbeddingBName));
    }

    /// <summary>The file keys and registered names of A and B (DoRA adds its magnitude): PEFT's embedding names on an Embedding.</summary>
    private protected (string Key, string Name)[] LoraTensorNames => Geometry.TakesIndices
        ? new[] { (EmbeddingAName, EmbeddingAName), (EmbeddingBName, EmbeddingBName) }
        : new[] { (AName, AName), (BName, BName) };

    /// <summary>Whether the unfused paths rescale the output per channel (DoRA), for the cost model.</summary>
    private protected virtual bool RescalesOutput => false;

    /// <inheritdoc />
    private protected override void OnTensorsRefreshed()
    {
        var names = LoraTensorNames;
        _a = AdapterTensor(names[0].Key);
        _b = AdapterTensor(names[1].Key);
    }

    /// <inheritdoc />
    public override FloraMethod Method => FloraMethod.Lora;

    /// <summary>The rank, α, dropout, forward path and, when budget matching chose the rank, the budget it matched.</summary>
    public LoraLayerConfig Config { get; }

    /// <summary>A, shaped <c>[r, in/groups, k…]</c> (<c>[r, in]</c> for a Linear; <c>[r, out/groups, k…]</c> for a transposed convolution; <c>[r, num_embeddings]</c> for an Embedding, PEFT's <c>lora_embedding_A</c>).</summary>
    public Parameter LoraA => _a;

    /// <summary>B, shaped <c>[out, r]</c> (<c>[in, r]</c> for a transposed convolution: the weight's mode 0; <c>[dim, r]</c> for an Embedding, PEFT's <c>lora_embedding_B</c>).</summary>
    public Parameter LoraB => _b;

    /// <inheritdoc />
    public override AdapterSpec Spec => new(BaseLayer.GetType().Name, Geometry.WeightShape, new[] { Config.Rank }, Config.Scale)
    {
        LoraAlpha = Config.EffectiveAlpha,
        UseRsLora = Config.UseRsLora,
    };

    /// <inheritdoc />
    public override long TrainableParameters => BudgetMatching.LoraParameters(Geometry.WeightShape, Config.Rank, dora: false);

    /// <inheritdoc />
    public override string Describe() => $"r={Config.Rank} α={Config.EffectiveAlpha:G4}" + (Config.UseRsLora ? " rsLoRA" : "");

    /// <inheritdoc />
    /// <remarks><c>s·ΔW = s·reshape(B·A)</c>.</remarks>
    private protected override Tensor BuildDelta()
    {
        if (Geometry.TakesIndices)
        {
            // PEFT's Embedding.get_delta_weight: transpose(B·A)·s, [num_embeddings, dim].
            using var ba = _b.matmul(_a);
            using var transposed = ba.t();
            return transposed.mul(_scale);
        }
        using var a = _a.reshape(_matrixShape);
        using var product = _b.matmul(a);
        return product.mul_(_scale).reshape(Geometry.WeightShape);
    }

    /// <inheritdoc />
    internal override FloraCostEstimate EstimateCost(long[] inputShape, FloraCostContext context) =>
        FloraCostModel.EstimateLora(Geometry.WeightShape, Geometry.Groups, Config.Rank, Geometry.Extent(inputShape), RescalesOutput, context);

    /// <inheritdoc />
    protected override FloraForwardPath ConfiguredPath => Config.ForwardPath;

    /// <inheritdoc />
    protected override double Dropout => Config.Dropout;

    /// <inheritdoc />
    /// <remarks>A as the base layer's own sliding (<c>in → r</c> per group), then B as <c>r → out</c>; s scales the small B.</remarks>
    private protected override Tensor FactorisedUpdate(Tensor x)
    {
        if (Geometry.TakesIndices)
        {
            // PEFT's Embedding.forward: (embed(x, Aᵀ) @ Bᵀ)·s, i.e. ΔW = (B·A)ᵀ in the weight's mode order [num_embeddings, dim]:
            // the mode-0 factor Aᵀ [num, r] (its rows gathered by the ids), then Bᵀ [r, dim].
            using var aRows = _a.t();
            using var bT = _b.t();
            using var product = Geometry.LowRank(x, aRows, bT);
            return product.mul(_scale);
        }
        using var up = _b.mul(_scale);
        return Geometry.LowRank(x, up, _a);
    }

    /// <inheritdoc />
    /// <remarks>An Embedding's LoRA (A <c>[r, num]</c>, B <c>[dim, r]</c>) builds alone.</remarks>
    internal override object? GroupKey => Geometry.TakesIndices ? null : (GetType(), string.Join(",", Geometry.WeightShape), Config);

    /// <inheritdoc />
    /// <remarks><c>W0 + s·B·A</c> (or <c>s·B·A</c>) for every member in one batched product of the stacked B and A.</remarks>
    internal override Tensor BuildStacked(IReadOnlyList<DeltaAdapterLayer> members, bool includeBase)
    {
        int n = members.Count;
        var a = new Tensor[n];
        var b = new Tensor[n];
        for (int i = 0; i < n; i++)
        {
            var member = (LoraLayer)members[i];
            a[i] = member._a;
            b[i] = member._b;
        }
        using var stackedA = stack(a);
        using var rows = stackedA.reshape(n, Config.Rank, -1);
        using var stackedB = stack(b);
        using var scaledB = stackedB.mul(_scale);
        return StackedWeights(members, scaledB, rows, includeBase);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing) _scale.Dispose();
        base.Dispose(disposing);
    }

    /// <summary>A parameter owned by this module: outside any dispose scope, so that it lives as long as the module.</summary>
    private protected static Parameter OwnedParameter(Tensor value)
    {
        var parameter = new Parameter(value);
        parameter.DetachFromDisposeScope();
        return parameter;
    }
}
