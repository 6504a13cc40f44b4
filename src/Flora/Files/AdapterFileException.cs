using System;
using System.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace Flora;

/// <summary>An adapter file that cannot be loaded into this model; the message names the file, the key and the fix.</summary>
public sealed class AdapterFileException : IOException
{
    /// <summary>Creates the exception for <paramref name="path"/> and <paramref name="key"/>.</summary>
    public AdapterFileException(string path, string? key, string problem)
        : this(path, key, problem, null)
    {
    }

    /// <summary>Creates the exception with the error that revealed the problem (a missing file, a safetensors format error) as its inner exception.</summary>
    internal AdapterFileException(string path, string? key, string problem, Exception? inner)
        : base(key is null ? $"Adapter file '{path}': {problem}" : $"Adapter file '{path}', key '{key}': {problem}", inner)
    {
        Path = path;
        Key = key;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>The tensor key or target, when one is involved.</summary>
    public string? Key { get; }

    /// <summary>
    /// The refusal of <paramref name="path"/>, which does not exist: names the first folder on the way that is missing
    /// (inner <see cref="DirectoryNotFoundException"/>) or the file (inner <see cref="FileNotFoundException"/>), and ends
    /// with <paramref name="fix"/>.
    /// </summary>
    internal static AdapterFileException Missing(string path, string fix)
    {
        string? folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (folder is not null && !Directory.Exists(folder))
        {
            string missing = folder;
            for (string? parent = System.IO.Path.GetDirectoryName(missing); parent is not null && !Directory.Exists(parent); parent = System.IO.Path.GetDirectoryName(parent))
                missing = parent;
            string problem = $"the folder '{missing}' does not exist. {fix}";
            return new AdapterFileException(path, null, problem, new DirectoryNotFoundException(problem));
        }
        if (Directory.Exists(path))
            return new AdapterFileException(path, null, $"it is a folder, not a file. {fix}");
        return new AdapterFileException(path, null, $"the file does not exist. {fix}", new FileNotFoundException($"'{path}' does not exist.", path));
    }

    /// <summary>The refusal of a file that is not valid safetensors: its problem, with the format error as the inner exception.</summary>
    internal static AdapterFileException NotSafetensors(SafetensorsFormatException error) =>
        new(error.Path, error.Key, $"it is not a valid safetensors file: {error.Problem}", error);

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
