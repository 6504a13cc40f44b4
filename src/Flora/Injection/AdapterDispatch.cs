using System;
using System.Linq;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// The explicit table from base layer type to adapter type for each method (first match wins), and the weight shape
/// each base layer type exposes. LoRA and DoRA get, per target, the rank whose trainable count is closest to the
/// target's FLoRA count (<see cref="BudgetMatching"/>); BitFit adapts any supported layer through its bias.
/// </summary>
internal static class AdapterDispatch
{
    private delegate FloraLayer FloraFactory(string name, nn.Module<Tensor, Tensor> layer, FloraLayerConfig config);

    private delegate LoraLayer LoraFactory(string name, nn.Module<Tensor, Tensor> layer, LoraLayerConfig config);

    /// <summary>One base layer type and its adapter type under each method with ranks.</summary>
    private sealed record Entry(Type BaseType, FloraFactory Flora, LoraFactory Lora, LoraFactory Dora);

    private static readonly Entry[] Adapters =
    {
        new(typeof(Linear),
            (name, layer, config) => new FloraLinear(name, (Linear)layer, config),
            (name, layer, config) => new LoraLinear(name, (Linear)layer, config),
            (name, layer, config) => new DoraLinear(name, (Linear)layer, config)),
        new(typeof(Conv1d),
            (name, layer, config) => new FloraConv1d(name, (Conv1d)layer, config),
            (name, layer, config) => new LoraConv1d(name, (Conv1d)layer, config),
            (name, layer, config) => new DoraConv1d(name, (Conv1d)layer, config)),
        new(typeof(Conv2d),
            (name, layer, config) => new FloraConv2d(name, (Conv2d)layer, config),
            (name, layer, config) => new LoraConv2d(name, (Conv2d)layer, config),
            (name, layer, config) => new DoraConv2d(name, (Conv2d)layer, config)),
        new(typeof(Conv3d),
            (name, layer, config) => new FloraConv3d(name, (Conv3d)layer, config),
            (name, layer, config) => new LoraConv3d(name, (Conv3d)layer, config),
            (name, layer, config) => new DoraConv3d(name, (Conv3d)layer, config)),
    };

    /// <summary>The layer types FLoRA adapts, for messages.</summary>
    public static string SupportedTypes => string.Join(", ", Adapters.Select(a => a.BaseType.Name));

    /// <summary>Whether <paramref name="layer"/> has an adapter type.</summary>
    public static bool IsSupported(nn.Module layer) => Adapters.Any(a => a.BaseType.IsInstanceOfType(layer));

    /// <summary>The base weight of a supported layer.</summary>
    public static Parameter WeightOf(string name, nn.Module layer) => layer switch
    {
        Linear linear => linear.weight,
        Convolution conv when !conv.transposed => conv.weight,
        _ => throw Unsupported(name, layer),
    };

    /// <summary>Creates the adapter of <paramref name="method"/> for <paramref name="layer"/>.</summary>
    public static AdapterLayer Create(FloraMethod method, string name, nn.Module<Tensor, Tensor> layer, FloraModelOptions model, FloraTargetOptions target) => method switch
    {
        FloraMethod.Flora => CreateFlora(name, layer, model, target),
        FloraMethod.Lora => CreateLora(name, layer, model, target, dora: false),
        FloraMethod.Dora => CreateLora(name, layer, model, target, dora: true),
        FloraMethod.BitFit => CreateBitFit(name, layer),
        _ => throw new ArgumentException($"Unknown method {method}. Use FloraMethod.Flora, Lora, Dora or BitFit.", nameof(method)),
    };

    /// <summary>Creates the FLoRA adapter of <paramref name="layer"/> with the settings resolved for its weight's shape.</summary>
    public static FloraLayer CreateFlora(string name, nn.Module<Tensor, Tensor> layer, FloraModelOptions model, FloraTargetOptions target)
    {
        Entry entry = Find(name, layer);
        return entry.Flora(name, layer, FloraLayerConfig.Resolve(name, WeightOf(name, layer).shape, model, target));
    }

    /// <summary>
    /// Creates the LoRA (or DoRA) adapter of <paramref name="layer"/> at the rank the target or model sets
    /// (<c>LoraRank</c>), else at the rank matched to the FLoRA budget the same settings give this target.
    /// </summary>
    public static LoraLayer CreateLora(string name, nn.Module<Tensor, Tensor> layer, FloraModelOptions model, FloraTargetOptions target, bool dora)
    {
        Entry entry = Find(name, layer);
        FloraLayerConfig flora = FloraLayerConfig.Resolve(name, WeightOf(name, layer).shape, model, target);
        LoraLayerConfig config = LoraLayerConfig.For(name, flora, model, target, dora);
        return dora ? entry.Dora(name, layer, config) : entry.Lora(name, layer, config);
    }

    /// <summary>
    /// Creates the adapter an adapter file describes for <paramref name="layer"/> (its method, ranks and scale), so that a
    /// saved adapter can be loaded into a fresh base model without knowing its settings.
    /// </summary>
    public static AdapterLayer CreateFromSpec(FloraMethod method, string name, nn.Module<Tensor, Tensor> layer, AdapterSpec spec)
    {
        Entry entry = Find(name, layer);
        long[] shape = WeightOf(name, layer).shape;
        if (layer.GetType().Name != spec.LayerType || !shape.SequenceEqual(spec.WeightShape))
            throw new ArgumentException($"'{name}' is a {layer.GetType().Name} with weight [{string.Join(", ", shape)}], but the adapter was saved for a " +
                                        $"{spec.LayerType} with weight [{string.Join(", ", spec.WeightShape)}]. Load it into the model it was trained on.");
        switch (method)
        {
            case FloraMethod.Flora:
                if (spec.Ranks.Length != shape.Length || spec.Ranks.Where((r, i) => r < 1 || r > shape[i]).Any())
                    throw new ArgumentException($"the FLoRA ranks ({string.Join(", ", spec.Ranks)}) saved for '{name}' do not fit its weight [{string.Join(", ", shape)}].");
                return entry.Flora(name, layer, new FloraLayerConfig { WeightShape = shape, Ranks = spec.Ranks, Scale = spec.Scale });
            case FloraMethod.Lora or FloraMethod.Dora:
                if (spec.Ranks.Length != 1 || spec.Ranks[0] < 1)
                    throw new ArgumentException($"the {method} rank ({string.Join(", ", spec.Ranks)}) saved for '{name}' is not one rank of at least 1.");
                var config = LoraLayerConfig.FromSpec(spec);
                return method == FloraMethod.Dora ? entry.Dora(name, layer, config) : entry.Lora(name, layer, config);
            default:
                return CreateBitFit(name, layer);
        }
    }

    /// <summary>Creates the BitFit adapter of a supported <paramref name="layer"/>.</summary>
    public static BitFitLayer CreateBitFit(string name, nn.Module<Tensor, Tensor> layer)
    {
        _ = Find(name, layer);
        _ = WeightOf(name, layer); // refuses transposed convolutions like the other methods
        return new BitFitLayer(name, layer);
    }

    private static Entry Find(string name, nn.Module layer) =>
        Adapters.FirstOrDefault(a => a.BaseType.IsInstanceOfType(layer)) ?? throw Unsupported(name, layer);

    private static ArgumentException Unsupported(string name, nn.Module layer) =>
        new($"'{name}' is a {layer.GetType().Name}, which FLoRA cannot adapt. Supported layer types: {SupportedTypes}. " +
            "Remove it from the targets, or target the Linear/Conv layers inside it.");
}
