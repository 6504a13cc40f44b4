using TorchSharp.Modules;

namespace Flora;

/// <summary>
/// DoRA on an <see cref="Embedding"/> layer as PEFT's <c>DoraEmbeddingLayer</c>: LoRA's <c>lora_embedding_A</c>
/// <c>[r, num_embeddings]</c> and <c>lora_embedding_B</c> <c>[dim, r]</c>, and a magnitude per dim (the output's
/// channels) over <c>‖W0 + s·ΔW‖</c> taken across the vocabulary (the weight's first axis), detached:
/// <c>y = f·base(x) + f·(Aᵀ[x] @ Bᵀ)·s</c> with <c>f = m/‖W0 + s·ΔW‖</c>.
/// </summary>
public sealed class DoraEmbedding : DoraLayer
{
    /// <summary>Wraps <paramref name="baseLayer"/> with a DoRA adapter configured by <paramref name="config"/>.</summary>
    public DoraEmbedding(string name, Embedding baseLayer, LoraLayerConfig config)
        : this(name, baseLayer, LayerGeometry.Embedding(() => baseLayer.weight!), config)
    {
    }

    /// <summary>Wraps <paramref name="baseLayer"/> read through <paramref name="geometry"/>, the one the dispatch built (<see cref="LayerTypeEntry"/>).</summary>
    internal DoraEmbedding(string name, Embedding baseLayer, LayerGeometry geometry, LoraLayerConfig config) : base(name, baseLayer, geometry, config)
    {
    }

    /// <summary>The wrapped base layer.</summary>
    public Embedding Base => (Embedding)BaseLayer;
}
