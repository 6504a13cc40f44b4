using System;
using System.Linq;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// The explicit table from base layer type to FLoRA adapter type (first match wins), and the weight shape each
/// base layer type exposes.
/// </summary>
internal static class AdapterDispatch
{
    private static readonly (Type BaseType, Func<string, nn.Module<Tensor, Tensor>, FloraLayerConfig, FloraLayer> Create)[] FloraAdapters =
    {
        (typeof(Linear), (name, layer, config) => new FloraLinear(name, (Linear)layer, config)),
        (typeof(Conv1d), (name, layer, config) => new FloraConv1d(name, (Conv1d)layer, config)),
        (typeof(Conv2d), (name, layer, config) => new FloraConv2d(name, (Conv2d)layer, config)),
        (typeof(Conv3d), (name, layer, config) => new FloraConv3d(name, (Conv3d)layer, config)),
    };

    /// <summary>The layer types FLoRA adapts, for messages.</summary>
    public static string SupportedTypes => string.Join(", ", FloraAdapters.Select(a => a.BaseType.Name));

    /// <summary>Whether <paramref name="layer"/> has an adapter type.</summary>
    public static bool IsSupported(nn.Module layer) => FloraAdapters.Any(a => a.BaseType.IsInstanceOfType(layer));

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
        _ => throw new ArgumentException($"The {method} method is not available in this version of Flora; use FloraMethod.Flora.", nameof(method)),
    };

    /// <summary>Creates the FLoRA adapter of <paramref name="layer"/> with the settings resolved for its weight's shape.</summary>
    public static FloraLayer CreateFlora(string name, nn.Module<Tensor, Tensor> layer, FloraModelOptions model, FloraTargetOptions target)
    {
        var entry = FloraAdapters.FirstOrDefault(a => a.BaseType.IsInstanceOfType(layer));
        if (entry.Create is null) throw Unsupported(name, layer);
        FloraLayerConfig config = FloraLayerConfig.Resolve(name, WeightOf(name, layer).shape, model, target);
        return entry.Create(name, layer, config);
    }

    private static ArgumentException Unsupported(string name, nn.Module layer) =>
        new($"'{name}' is a {layer.GetType().Name}, which FLoRA cannot adapt. Supported layer types: {SupportedTypes}. " +
            "Remove it from the targets, or target the Linear/Conv layers inside it.");
}
