using static TorchSharp.torch;

namespace Flora;

/// <summary>FLoRA on a layer type registered with <see cref="FloraLayerTypes"/>, over the geometry its registration gives.</summary>
internal sealed class RegisteredFloraLayer : FloraLayer
{
    public RegisteredFloraLayer(string name, nn.Module<Tensor, Tensor> baseLayer, LayerGeometry geometry, FloraLayerConfig config)
        : base(name, baseLayer, geometry, config)
    {
    }
}

/// <summary>LoRA on a layer type registered with <see cref="FloraLayerTypes"/>.</summary>
internal sealed class RegisteredLoraLayer : LoraLayer
{
    public RegisteredLoraLayer(string name, nn.Module<Tensor, Tensor> baseLayer, LayerGeometry geometry, LoraLayerConfig config)
        : base(name, baseLayer, geometry, config)
    {
    }
}

/// <summary>DoRA on a layer type registered with <see cref="FloraLayerTypes"/>.</summary>
internal sealed class RegisteredDoraLayer : DoraLayer
{
    public RegisteredDoraLayer(string name, nn.Module<Tensor, Tensor> baseLayer, LayerGeometry geometry, LoraLayerConfig config)
        : base(name, baseLayer, geometry, config)
    {
    }
}
