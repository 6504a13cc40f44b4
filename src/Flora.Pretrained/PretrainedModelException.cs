using System;

namespace Flora.Pretrained;

/// <summary>
/// A pretrained model file is missing, unreadable or does not fit the network: the message names the file, the
/// tensor or node, what was expected (shape, attribute, structure) and what the file holds.
/// </summary>
public sealed class PretrainedModelException : Exception
{
    /// <summary>Creates the error for <paramref name="file"/> and, where one is at fault, <paramref name="tensor"/>.</summary>
    public PretrainedModelException(string file, string? tensor, string message, Exception? inner = null)
        : base(Format(file, tensor, message), inner)
    {
        File = file;
        Tensor = tensor;
    }

    /// <summary>The model file at fault.</summary>
    public string File { get; }

    /// <summary>The ONNX tensor or node at fault, when one is.</summary>
    public string? Tensor { get; }

    private static string Format(string file, string? tensor, string message) =>
        tensor is null ? $"{file}: {message}" : $"{file}: '{tensor}': {message}";
}
