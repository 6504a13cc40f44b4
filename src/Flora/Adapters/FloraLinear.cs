using TorchSharp.Modules;

namespace Flora;

/// <summary>
/// FLoRA on a <see cref="Linear"/> layer: <c>ΔW = U_out G U_inᵀ</c>. The factorised path computes
/// <c>((x·U_in)·(s·G)ᵀ)·U_outᵀ</c> and never builds the full matrix.
/// </summary>
public sealed class FloraLinear : FloraLayer
{
    /// <summary>Wraps <paramref name="baseLayer"/> with a FLoRA adapter configured by <paramref name="config"/>.</summary>
    public FloraLinear(string name, Linear baseLayer, FloraLayerConfig config)
        : this(name, baseLayer, LayerGeometry.Linear(() => baseLayer.weight!, () => baseLayer.bias), config)
    {
    }

    /// <summary>Wraps <paramref name="baseLayer"/> read through <paramref name="geometry"/>, the one the dispatch built (<see cref="LayerTypeEntry"/>).</summary>
    internal FloraLinear(string name, Linear baseLayer, LayerGeometry geometry, FloraLayerConfig config) : base(name, baseLayer, geometry, config)
    {
        Base = baseLayer;
    }

    /// <summary>The wrapped base layer.</summary>
    public Linear Base { get; }
}
