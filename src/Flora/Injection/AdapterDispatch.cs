using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// Creates adapters from the one dispatch table (<see cref="FloraLayerTypes"/>: base layer type → geometry and adapter
/// type per method, first match wins). LoRA and DoRA get, per target, the rank whose trainable count is closest to the
/// target's FLoRA count (<see cref="BudgetMatching"/>); BitFit adapts any supported layer through its bias; Houlsby and
/// Pfeiffer put a bottleneck of the width closest to the FLoRA budget after any supported layer (<see cref="BaselineSizeRules"/>);
/// AdaLoRA (one adapter type over every geometry) gets a target rank matched the same way and 1.5× it to start from.
/// </summary>
internal static class AdapterDispatch
{
    /// <summary>The layer types adapters wrap, for messages.</summary>
    public static string SupportedTypes => string.Join(", ", FloraLayerTypes.Names);

    /// <summary>Whether <paramref name="layer"/> has an adapter type.</summary>
    public static bool IsSupported(nn.Module layer) => FloraLayerTypes.Find(layer) is not null;

    /// <summary>The base weight of a supported layer (read through its geometry).</summary>
    public static Parameter WeightOf(string name, nn.Module<Tensor, Tensor> layer) => Find(name, layer).Geometry(layer).Weight;

    /// <summary>Creates the adapter of <paramref name="method"/> for <paramref name="layer"/>.</summary>
    public static AdapterLayer Create(FloraMethod method, string name, nn.Module<Tensor, Tensor> layer, FloraModelOptions model, FloraTargetOptions target) => method switch
    {
        FloraMethod.Flora => CreateFlora(name, layer, model, target),
        FloraMethod.Lora => CreateLora(name, layer, model, target, dora: false),
        FloraMethod.Dora => CreateLora(name, layer, model, target, dora: true),
        FloraMethod.BitFit => CreateBitFit(name, layer),
        FloraMethod.Houlsby or FloraMethod.Pfeiffer => CreateBottleneck(method, name, layer, model, target, new[] { (name, layer, target) }),
        FloraMethod.AdaLora => CreateAdaLora(name, layer, model, target),
        _ => throw new ArgumentException($"Unknown method {method}. Use a FloraMethod value: Flora, Lora, Dora, BitFit, Houlsby, Pfeiffer or AdaLora.", nameof(method)),
    };

    /// <summary>Creates the FLoRA adapter of <paramref name="layer"/> with the settings resolved for its weight's shape.</summary>
    public static FloraLayer CreateFlora(string name, nn.Module<Tensor, Tensor> layer, FloraModelOptions model, FloraTargetOptions target)
    {
        var (entry, geometry) = Read(name, layer);
        return entry.Flora(name, layer, geometry, FloraLayerConfig.Resolve(name, geometry.Weight.shape, model, target, geometry.Transposed));
    }

    /// <summary>
    /// Creates the LoRA (or DoRA) adapter of <paramref name="layer"/> at the rank the target or model sets
    /// (<c>LoraRank</c>), else at the rank matched to the FLoRA budget the same settings give this target.
    /// </summary>
    public static LoraLayer CreateLora(string name, nn.Module<Tensor, Tensor> layer, FloraModelOptions model, FloraTargetOptions target, bool dora)
    {
        EnsureMethodFits(dora ? FloraMethod.Dora : FloraMethod.Lora, name, layer);
        var (entry, geometry) = Read(name, layer);
        LoraLayerConfig config = LoraLayerConfig.Resolve(name, geometry.Weight.shape, model, target, dora, geometry.Transposed, geometry.OutChannels);
        return dora ? entry.Dora(name, layer, geometry, config) : entry.Lora(name, layer, geometry, config);
    }

    /// <summary>
    /// Creates the Houlsby or Pfeiffer adapter of <paramref name="layer"/> at the width the target or model sets
    /// (<c>AdapterSize</c>), else at the width whose count is closest to the FLoRA budget of <paramref name="budgetOf"/>
    /// (the target itself; for Pfeiffer every target of its block), each resolved with its own settings as FLoRA would.
    /// </summary>
    public static BottleneckAdapterLayer CreateBottleneck(FloraMethod method, string name, nn.Module<Tensor, Tensor> layer, FloraModelOptions model, FloraTargetOptions target,
        IReadOnlyList<(string Name, nn.Module<Tensor, Tensor> Layer, FloraTargetOptions Options)> budgetOf)
    {
        EnsureMethodFits(method, name, layer);
        var (_, geometry) = Read(name, layer);
        long channels = geometry.OutChannels;
        int size = target.AdapterSize ?? model.AdapterSize
                   ?? BaselineSizeRules.MatchedBottleneckSize(channels, budgetOf.Sum(t => FloraBudget(method, t.Name, ReferenceEquals(t.Layer, layer) ? geometry : Find(t.Name, t.Layer).Geometry(t.Layer), model, t.Options)));
        return new BottleneckAdapterLayer(name, layer, geometry, method, size, autocastAdapterDtype: model.AutocastAdapterDtype);
    }

    /// <summary>The trainable count of the FLoRA adapter that <paramref name="model"/> and <paramref name="target"/> give a layer of the weight of <paramref name="geometry"/>.</summary>
    private static long FloraBudget(FloraMethod method, string name, LayerGeometry geometry, FloraModelOptions model, FloraTargetOptions target) =>
        BudgetMatching.FloraReference(name, geometry.Weight.shape, model, target, geometry.Transposed, method.ToString(), "bottleneck width", "AdapterSize").TrainableParameters;

    /// <summary>
    /// Creates the AdaLoRA adapter of <paramref name="layer"/> (any layer type of the table, through its geometry) with its
    /// target and initial rank resolved for its weight's shape (<see cref="AdaLoraLayerConfig.Resolve"/>).
    /// </summary>
    public static AdaLoraLayer CreateAdaLora(string name, nn.Module<Tensor, Tensor> layer, FloraModelOptions model, FloraTargetOptions target)
    {
        EnsureMethodFits(FloraMethod.AdaLora, name, layer);
        var (_, geometry) = Read(name, layer);
        return new AdaLoraLayer(name, layer, geometry, AdaLoraLayerConfig.Resolve(name, geometry.Weight.shape, model, target, geometry.Transposed));
    }

    /// <summary>
    /// Creates the adapter an adapter file describes for <paramref name="layer"/> (its method, ranks and scale), so that a
    /// saved adapter can be loaded into a fresh base model without knowing its settings.
    /// </summary>
    public static AdapterLayer CreateFromSpec(FloraMethod method, string name, nn.Module<Tensor, Tensor> layer, AdapterSpec spec)
    {
        EnsureMethodFits(method, name, layer);
        var (entry, geometry) = Read(name, layer);
        long[] shape = geometry.Weight.shape;
        if (layer.GetType().Name != spec.LayerType || !shape.SequenceEqual(spec.WeightShape))
            throw new ArgumentException($"'{name}' is a {layer.GetType().Name} with weight [{string.Join(", ", shape)}], but the adapter was saved for a " +
                                        $"{spec.LayerType} with weight [{string.Join(", ", spec.WeightShape)}]. Load it into the model it was trained on.");
        switch (method)
        {
            case FloraMethod.Flora:
                if (spec.Ranks.Length != shape.Length || spec.Ranks.Where((r, i) => r < 1 || r > shape[i]).Any())
                    throw new ArgumentException($"the FLoRA ranks ({string.Join(", ", spec.Ranks)}) saved for '{name}' do not fit its weight [{string.Join(", ", shape)}].");
                return entry.Flora(name, layer, geometry, new FloraLayerConfig { WeightShape = shape, Ranks = spec.Ranks, Scale = spec.Scale });
            case FloraMethod.Lora or FloraMethod.Dora:
                if (spec.Ranks.Length != 1 || spec.Ranks[0] < 1)
                    throw new ArgumentException($"the {method} rank ({string.Join(", ", spec.Ranks)}) saved for '{name}' is not one rank of at least 1.");
                var config = LoraLayerConfig.FromSpec(spec);
                return method == FloraMethod.Dora ? entry.Dora(name, layer, geometry, config) : entry.Lora(name, layer, geometry, config);
            case FloraMethod.BitFit:
                return CreateBitFit(name, layer);
            case FloraMethod.Houlsby or FloraMethod.Pfeiffer:
                if (spec.Ranks.Length != 1 || spec.Ranks[0] < 1 || !double.IsFinite(spec.Scale) || spec.Scale <= 0)
                    throw new ArgumentException($"the {method} adapter size ({string.Join(", ", spec.Ranks)}) and scale {spec.Scale} saved for '{name}' are not one width of at least 1 and a positive scale.");
                return new BottleneckAdapterLayer(name, layer, geometry, method, spec.Ranks[0], spec.Scale);
            case FloraMethod.AdaLora:
                if (spec.Ranks.Length != 2 || spec.Ranks[0] < 1 || spec.Ranks[1] < 1)
                    throw new ArgumentException($"the AdaLoRA ranks ({string.Join(", ", spec.Ranks)}) saved for '{name}' are not a rank and a ranknum of at least 1.");
                return new AdaLoraLayer(name, layer, geometry, AdaLoraLayerConfig.FromSpec(spec));
            default:
                throw new ArgumentException($"'{name}': the adapter file's method {method} is not a FloraMethod this version knows.", nameof(method));
        }
    }

    /// <summary>Creates the BitFit adapter of a supported <paramref name="layer"/>.</summary>
    public static BitFitLayer CreateBitFit(string name, nn.Module<Tensor, Tensor> layer)
    {
        if (layer is MultiheadAttentionProjection projection)
            return new BitFitLayer(name, layer, () => projection.Bias, projection.Weight.shape);
        _ = WeightOf(name, layer); // refuses unsupported types like the other methods
        return new BitFitLayer(name, layer);
    }

    /// <summary>
    /// <paramref name="method"/>, when it can adapt <paramref name="layer"/>: a <see cref="MultiheadAttention"/>'s projections
    /// take FLoRA, LoRA and BitFit (PEFT adapts this layer with LoRA only and refuses DoRA), else an error naming the layer.
    /// </summary>
    private static void EnsureMethodFits(FloraMethod method, string name, nn.Module layer)
    {
        if (layer is MultiheadAttentionProjection && method is not (FloraMethod.Flora or FloraMethod.Lora or FloraMethod.BitFit))
            throw new ArgumentException($"'{name}' is a projection of a MultiheadAttention, which takes FLoRA, LoRA and BitFit adapters, not {method} " +
                                        "(PEFT refuses DoRA for this layer as well). Leave the attention layer out of the targets, or use one of those methods.");
    }

    private static LayerTypeEntry Find(string name, nn.Module layer) => FloraLayerTypes.Find(layer) ?? throw Unsupported(name, layer);

    /// <summary>The row of <paramref name="layer"/>'s type and its geometry, read once: the adapter is built on the same one (a registered type's factory runs once).</summary>
    private static (LayerTypeEntry Entry, LayerGeometry Geometry) Read(string name, nn.Module<Tensor, Tensor> layer)
    {
        LayerTypeEntry entry = Find(name, layer);
        return (entry, entry.Geometry(layer));
    }

    private static ArgumentException Unsupported(string name, nn.Module layer) =>
        new($"'{name}' is a {layer.GetType().Name}, which FLoRA cannot adapt. Supported layer types: {SupportedTypes}. " +
            "Remove it from the targets, or target the Linear/Conv layers inside it.");
}
