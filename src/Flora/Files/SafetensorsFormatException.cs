using System;
using System.IO;

namespace Flora;

/// <summary>
/// Thrown for a file that is not valid safetensors; the message names the file, the key (when there is
/// one) and what is wrong.
/// </summary>
public sealed class SafetensorsFormatException : IOException
{
    /// <summary>The advice that ends the message of a problem only damage or a foreign writer explains.</summary>
    internal const string DamagedFileAdvice = " The file is damaged or was not written by a safetensors writer; re-save it.";

    /// <summary>Creates the exception for a file (or other source), an optional key and the problem found.</summary>
    /// <param name="path">The file path or source name of the invalid data.</param>
    /// <param name="key">The header key (tensor name or <c>__metadata__</c>) the problem concerns, or null.</param>
    /// <param name="problem">What is wrong, as one or more sentences a user can act on.</param>
    public SafetensorsFormatException(string path, string? key, string problem)
        : base(Compose(path, key, problem))
    {
        Path = path;
        Key = key;
        Problem = problem;
    }

    /// <summary>The file path or source name of the invalid data.</summary>
    public string Path { get; }

    /// <summary>The header key (tensor name or <c>__metadata__</c>) the problem concerns, or null when it concerns the whole file.</summary>
    public string? Key { get; }

    /// <summary>What is wrong, without the file and key the message starts with.</summary>
    internal string Problem { get; }

    private static string Compose(string path, string? key, string problem)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(problem);
        return key is null
            ? $"'{path}' is not a valid safetensors file: {problem}"
            : $"'{path}' is not a valid safetensors file: key '{key}': {problem}";
    }
}
