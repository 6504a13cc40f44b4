using TorchSharp.Modules;

namespace Flora;

/// <summary>
/// LoRA on an <see cref="Embedding"/> layer as PEFT's <c>lora.Embedding</c>: <c>lora_embedding_A</c>
/// <c>[r, num_embeddings]</c> (zeros at start), <c>lora_embedding_B</c> <c>[dim, r]</c> (<c>normal_</c>),
/// <c>forward(x) = base(x) + (Aᵀ[x] @ Bᵀ)·s</c> and <c>s·ΔW = (B·A)ᵀ·s</c>, <c>[num_embeddings, dim]</c>. No dropout on
/// the ids (PEFT's Embedding has none).
/// </summary>
public sealed class LoraEmbedding : LoraLayer
{
    /// <summary>Wraps <paramref name="baseLayer"/> with a LoRA adapter configured by <paramref name="config"/>.</summary>
    public LoraEmbedding(string name, Embedding baseLayer, LoraLayerConfig config)
        : this(name, baseLayer, LayerGeometry.Embedding(() => baseLayer.weight!), config)
    {
    }

    /// <summary>Wraps <paramref name="baseLayer"/> read through <paramref name="geometry"/>, the one the dispatch built (<see cref="LayerTypeEntry"/>).</summary>
    internal LoraEmbedding(string name, Embedding baseLayer, LayerGeometry geometry, LoraLayerConfig config) : base(name, baseLayer, geometry, config)
    {
    }

    /// <summary>The wrapped base layer.</summary>
    public Embedding Base => (Embedding)BaseLayer;
}
