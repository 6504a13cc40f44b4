using System.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace Flora;

/// <summary>An adapter file that cannot be loaded into this model; the message names the file, the key and the fix.</summary>
public sealed class AdapterFileException : IOException
{
    /// <summary>Creates the exception for <paramref name="path"/> and <paramref name="key"/>.</summary>
    public AdapterFileException(string path, string? key, string problem)
        : base(key is null ? $"Adapter file '{path}': {problem}" : $"Adapter file '{path}', key '{key}': {problem}")
    {
        Path = path;
        Key = key;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>The tensor key or target, when one is involved.</summary>
    public string? Key { get; }

    /// <summary>
    /// Throws for the tensor at <paramref name="key"/> of <paramref name="path"/> unless it is of a floating-point dtype
    /// (else the message ends with <paramref name="dtypeFix"/>) and holds only finite values.
    /// </summary>
    internal static void ThrowUnlessFiniteFloatingPoint(string path, string key, Tensor tensor, string dtypeFix)
    {
        if (!torch.is_floating_point(tensor))
            throw new AdapterFileException(path, key, $"its dtype is {tensor.dtype}, not a floating-point type. {dtypeFix}");
        using var finite = tensor.isfinite().all();
        if (!finite.item<bool>())
            throw new AdapterFileException(path, key, "it holds NaN or infinite values (training diverged before it was saved). Load an earlier checkpoint.");
    }
}
