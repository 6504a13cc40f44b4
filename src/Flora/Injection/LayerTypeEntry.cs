using System;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// One row of the dispatch table: a base layer type, how its <see cref="LayerGeometry"/> (and so its weight) is read, and
/// its adapter under each delta method, given the geometry the dispatch read once (<see cref="AdapterDispatch"/>). Built-in rows come from <see cref="FloraLayerKinds.Rows"/> (the table the
/// generator and the analyzers read too); <see cref="FloraLayerTypes.Register{TLayer}"/> adds rows for layer types of one's own.
/// </summary>
internal sealed record LayerTypeEntry(
    Type BaseType,
    Func<nn.Module<Tensor, Tensor>, LayerGeometry> Geometry,
    Func<string, nn.Module<Tensor, Tensor>, LayerGeometry, FloraLayerConfig, FloraLayer> Flora,
    Func<string, nn.Module<Tensor, Tensor>, LayerGeometry, LoraLayerConfig, LoraLayer> Lora,
    Func<string, nn.Module<Tensor, Tensor>, LayerGeometry, LoraLayerConfig, LoraLayer> Dora)
{
    /// <summary>
    /// The built-in row of <paramref name="row"/>'s kind: TorchSharp's type and the typed adapters (a MultiheadAttention's:
    /// those of its projections, <see cref="AttentionProjection"/>).
    /// </summary>
    public static LayerTypeEntry BuiltIn(LayerKindRow row) => row.Kind switch
    {
        LayerKind.Linear => new(typeof(Linear),
            layer => LayerGeometry.Linear(() => ((Linear)layer).weight!, () => ((Linear)layer).bias),
            (name, layer, geometry, config) => new FloraLinear(name, (Linear)layer, geometry, config),
            (name, layer, geometry, config) => new LoraLinear(name, (Linear)layer, geometry, config),
            (name, layer, geometry, config) => new DoraLinear(name, (Linear)layer, geometry, config)),
        LayerKind.Conv1d => new(typeof(Conv1d), layer => LayerGeometry.Convolution((Convolution)layer),
            (name, layer, geometry, config) => new FloraConv1d(name, (Conv1d)layer, geometry, config),
            (name, layer, geometry, config) => new LoraConv1d(name, (Conv1d)layer, geometry, config),
            (name, layer, geometry, config) => new DoraConv1d(name, (Conv1d)layer, geometry, config)),
        LayerKind.Conv2d => new(typeof(Conv2d), layer => LayerGeometry.Convolution((Convolution)layer),
            (name, layer, geometry, config) => new FloraConv2d(name, (Conv2d)layer, geometry, config),
            (name, layer, geometry, config) => new LoraConv2d(name, (Conv2d)layer, geometry, config),
            (name, layer, geometry, config) => new DoraConv2d(name, (Conv2d)layer, geometry, config)),
        LayerKind.Conv3d => new(typeof(Conv3d), layer => LayerGeometry.Convolution((Convolution)layer),
            (name, layer, geometry, config) => new FloraConv3d(name, (Conv3d)layer, geometry, config),
            (name, layer, geometry, config) => new LoraConv3d(name, (Conv3d)layer, geometry, config),
            (name, layer, geometry, config) => new DoraConv3d(name, (Conv3d)layer, geometry, config)),
        LayerKind.Embedding => new(typeof(Embedding), layer => LayerGeometry.Embedding(() => ((Embedding)layer).weight!),
            (name, layer, geometry, config) => new FloraEmbedding(name, (Embedding)layer, geometry, config),
            (name, layer, geometry, config) => new LoraEmbedding(name, (Embedding)layer, geometry, config),
            (name, layer, geometry, config) => new DoraEmbedding(name, (Embedding)layer, geometry, config)),
        LayerKind.ConvTranspose1d => Transposed<ConvTranspose1d>((name, layer, geometry, config) => new FloraConvTranspose1d(name, (ConvTranspose1d)layer, geometry, config)),
        LayerKind.ConvTranspose2d => Transposed<ConvTranspose2d>((name, layer, geometry, config) => new FloraConvTranspose2d(name, (ConvTranspose2d)layer, geometry, config)),
        LayerKind.ConvTranspose3d => Transposed<ConvTranspose3d>((name, layer, geometry, config) => new FloraConvTranspose3d(name, (ConvTranspose3d)layer, geometry, config)),
        LayerKind.MultiheadAttention => AttentionProjection,
        _ => throw new ArgumentException($"no built-in adapters for {row.TypeName}"),
    };

    /// <summary>
    /// The row of a <see cref="MultiheadAttentionProjection"/>: a MultiheadAttention is adapted through its two projections
    /// (<see cref="FloraMultiheadAttention"/>), each a Linear view of its weights (DoRA is refused before this row is read).
    /// </summary>
    public static LayerTypeEntry AttentionProjection { get; } = new(typeof(MultiheadAttentionProjection), layer => ((MultiheadAttentionProjection)layer).Geometry,
        (name, layer, geometry, config) => new RegisteredFloraLayer(name, layer, geometry, config),
        (name, layer, geometry, config) => new RegisteredLoraLayer(name, layer, geometry, config),
        (name, layer, geometry, config) => new RegisteredDoraLayer(name, layer, geometry, config));

    /// <summary>A transposed convolution's row: its typed FLoRA adapter, LoRA and DoRA over its geometry.</summary>
    private static LayerTypeEntry Transposed<TLayer>(Func<string, nn.Module<Tensor, Tensor>, LayerGeometry, FloraLayerConfig, FloraLayer> flora) where TLayer : Convolution =>
        new(typeof(TLayer), layer => LayerGeometry.TransposedConvolution((Convolution)layer), flora,
            (name, layer, geometry, config) => new RegisteredLoraLayer(name, layer, geometry, config),
            (name, layer, geometry, config) => new RegisteredDoraLayer(name, layer, geometry, config));

    /// <summary>A registered layer type: its geometry (the user's factory, run once per adapter by the dispatch), and the generic adapters over it.</summary>
    public static LayerTypeEntry Custom<TLayer>(Func<TLayer, LayerGeometry> geometry) where TLayer : nn.Module<Tensor, Tensor> =>
        new(typeof(TLayer), layer => geometry((TLayer)layer),
            (name, layer, built, config) => new RegisteredFloraLayer(name, layer, built, config),
            (name, layer, built, config) => new RegisteredLoraLayer(name, layer, built, config),
            (name, layer, built, config) => new RegisteredDoraLayer(name, layer, built, config));
}
