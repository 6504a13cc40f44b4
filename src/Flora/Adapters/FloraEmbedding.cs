using TorchSharp.Modules;

namespace Flora;

/// <summary>
/// FLoRA on an <see cref="Embedding"/> layer (weight <c>[num_embeddings, dim]</c>): <c>ΔW = s·U0·G·U1ᵀ</c> with
/// <c>U0</c> <c>[num_embeddings, r0]</c> (<see cref="FloraLayer.Factor(int)"/> 0, file key <c>factor.out</c>, rank
/// <c>OutRank ?? Rank</c>: mode 0 is the weight's first axis, as for every layer), <c>G</c> <c>[r0, r1]</c> and
/// <c>U1</c> <c>[dim, r1]</c> (mode 1, <c>factor.in</c>, <c>InRank ?? Rank</c>). The factorised path gathers the ids'
/// rows of <c>U0</c> (<c>[…ids, r0]</c>), then multiplies by <c>s·G</c> and <c>U1ᵀ</c>: ΔW is never built. The
/// materialised and fused paths gather rows of <c>s·ΔW</c> or <c>W0 + s·ΔW</c>. Embeddings build alone (no
/// <see cref="AdapterGroup"/>).
/// </summary>
public sealed class FloraEmbedding : FloraLayer
{
    /// <summary>Wraps <paramref name="baseLayer"/> with a FLoRA adapter configured by <paramref name="config"/>.</summary>
    public FloraEmbedding(string name, Embedding baseLayer, FloraLayerConfig config)
        : this(name, baseLayer, LayerGeometry.Embedding(() => baseLayer.weight!), config)
    {
    }

    /// <summary>Wraps <paramref name="baseLayer"/> read through <paramref name="geometry"/>, the one the dispatch built (<see cref="LayerTypeEntry"/>).</summary>
    internal FloraEmbedding(string name, Embedding baseLayer, LayerGeometry geometry, FloraLayerConfig config) : base(name, baseLayer, geometry, config)
    {
        Base = baseLayer;
    }

    /// <summary>The wrapped base layer.</summary>
    public Embedding Base { get; }

    /// <inheritdoc />
    internal override object? GroupKey => null;
}
