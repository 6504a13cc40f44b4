using TorchSharp.Modules;

namespace Flora;

/// <summary>DoRA on a <see cref="Linear"/> layer: LoRA's A <c>[r, in]</c> and B <c>[out, r]</c>, and a magnitude per output feature.</summary>
public sealed class DoraLinear : DoraLayer
{
    /// <summary>Wraps <paramref name="baseLayer"/> with a DoRA adapter configured by <paramref name="config"/>.</summary>
    public DoraLinear(string name, Linear baseLayer, LoraLayerConfig config) : this(name, baseLayer, LayerGeometry.Linear(() => baseLayer.weight!, () => baseLayer.bias), config)
    {
    }

    /// <summary>Wraps <paramref name="baseLayer"/> read through <paramref name="geometry"/>, the one the dispatch built (<see cref="LayerTypeEntry"/>).</summary>
    internal DoraLinear(string name, Linear baseLayer, LayerGeometry geometry, LoraLayerConfig config) : base(name, baseLayer, geometry, config)
    {
    }

    /// <summary>The wrapped base layer.</summary>
    public Linear Base => (Linear)BaseLayer;
}
