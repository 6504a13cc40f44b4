using System.Collections.Generic;
using System.Linq;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// What an adapter file holds of one named adapter of an attachment: its method, its layers, AdaLoRA's options, and its
/// values of the modules to save — the modules themselves for the active adapter, its parked copy for another.
/// Saving reads these tensors; loading validates against them and then copies into them.
/// </summary>
/// <param name="Method">The adapter's method.</param>
/// <param name="Adapters">Its layers, in target order.</param>
/// <param name="AdaLora">AdaLoRA's allocation options (null for other methods).</param>
/// <param name="ModulesToSave">Each module to save with this adapter's tensors of it.</param>
/// <param name="IsMerged">Whether any of its layers is merged (saving and loading then refuse).</param>
internal sealed record AdapterContent(FloraMethod Method, IReadOnlyList<IFloraAdapter> Adapters, AdaLoraOptions? AdaLora,
    IReadOnlyList<AdapterContent.SavedModuleContent> ModulesToSave, bool IsMerged)
{
    /// <summary>Every tensor the file holds: adapter tensors (<c>{layer}.{key}</c>), then the modules to save's (<c>{module}.{name}</c>).</summary>
    public IEnumerable<(string Key, Tensor Tensor)> FileTensors() =>
        Adapters.SelectMany(a => a.AdapterTensors.Select(t => (Key: a.Name + "." + t.Key, Tensor: (Tensor)t.Tensor)))
            .Concat(ModulesToSave.SelectMany(m => m.Tensors.Select(t => (Key: m.Path + "." + t.Key, t.Tensor))));

    /// <summary>One module to save: its path, the module (for its type) and this adapter's tensors of it, in registration order.</summary>
    internal sealed record SavedModuleContent(string Path, nn.Module Module, IReadOnlyList<(string Key, Tensor Tensor)> Tensors);
}
