using System;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// A module that trains fully and is saved whole in the adapter file (PEFT's <c>modules_to_save</c>): a new classifier
/// head, a BatchNorm layer, a whole block. Its tensors are keyed <c>{Path}.{parameter or buffer}</c>.
/// </summary>
public sealed record ModuleToSave
{
    /// <summary>Describes the module at <paramref name="path"/> (its dotted name from the model's root).</summary>
    internal ModuleToSave(string path, nn.Module module)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(module);
        Path = path;
        Module = module;
    }

    /// <summary>The module's dotted path from the model's root, e.g. <c>fc</c> or <c>layer1.0.bn1</c>.</summary>
    public string Path { get; }

    /// <summary>The module itself.</summary>
    public nn.Module Module { get; }
}
