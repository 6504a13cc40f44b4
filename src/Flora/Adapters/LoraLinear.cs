using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// LoRA on a <see cref="Linear"/> layer: A <c>[r, in]</c>, B <c>[out, r]</c>. The factorised path computes
/// <c>(x·Aᵀ)·(s·B)ᵀ</c> and never builds the full matrix; the materialised one <c>linear(x, s·B·A)</c>.
/// </summary>
public sealed class LoraLinear : LoraLayer
{
    /// <summary>Wraps <paramref name="baseLayer"/> with a LoRA adapter configured by <paramref name="config"/>.</summary>
    public LoraLinear(string name, Linear baseLayer, LoraLayerConfig config) : this(name, baseLayer, LayerGeometry.Linear(() => baseLayer.weight!, () => baseLayer.bias), config)
    {
    }

    /// <summary>Wraps <paramref name="baseLayer"/> read through <paramref name="geometry"/>, the one the dispatch built (<see cref="LayerTypeEntry"/>).</summary>
    internal LoraLinear(string name, Linear baseLayer, LayerGeometry geometry, LoraLayerConfig config) : base(name, baseLayer, geometry, config)
    {
    }

    /// <summary>The wrapped base layer.</summary>
    public Linear Base => (Linear)BaseLayer;
}
