using System;
using System.Collections.Generic;
using static TorchSharp.torch;

namespace Flora;

/// <summary>The contents of a safetensors file: named tensors (CPU) and string metadata.</summary>
/// <remarks>Owns its tensors: <see cref="Dispose"/> disposes every tensor in <see cref="Tensors"/>.</remarks>
public sealed class SafetensorsContent : IDisposable
{
    private bool _disposed;

    /// <summary>Wraps named tensors and metadata; the new object owns the tensors.</summary>
    /// <param name="tensors">The tensors by name.</param>
    /// <param name="metadata">The file's <c>__metadata__</c> entries (empty when the file has none).</param>
    public SafetensorsContent(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentNullException.ThrowIfNull(metadata);
        Tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>The tensors by name. Loaded tensors are CPU tensors of the file's dtype and shape.</summary>
    public IReadOnlyDictionary<string, Tensor> Tensors { get; }

    /// <summary>The string metadata (the file's <c>__metadata__</c> object); empty when the file has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Disposes the tensors. Calling it more than once has no further effect.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var tensor in Tensors.Values)
            tensor?.Dispose();
    }
}
