// A strict reader and writer of the safetensors format (https://github.com/huggingface/safetensors)
// for TorchSharp tensors: 8-byte little-endian header length N, N bytes of UTF-8 JSON, then the data
// buffer. The reader validates everything (header, dtypes, shapes, offsets, coverage of the data
// buffer) before it allocates a single tensor, and never returns a partially valid result.
using System;
using System.Collections.Generic;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// Reads and writes the safetensors format: named tensors of dtypes F32, F16, BF16, F64, I64, I32, I16,
/// I8, U8 and BOOL, plus string metadata.
/// </summary>
public static class Safetensors
{
    /// <summary>
    /// Writes <paramref name="tensors"/> and <paramref name="metadata"/> to <paramref name="path"/> atomically:
    /// the bytes go to a temporary file in the same directory (the file name + ".tmp-" + a random suffix),
    /// which is flushed to disk and then moved over <paramref name="path"/>. On any failure the temporary
    /// file is deleted and an existing file at <paramref name="path"/> is left untouched.
    /// </summary>
    /// <param name="path">The file to write.</param>
    /// <param name="tensors">The tensors by name, on any device, contiguous or not; they are not modified.</param>
    /// <param name="metadata">Optional string metadata, written as <c>__metadata__</c> when non-empty.</param>
    /// <exception cref="ArgumentException">A name is <c>__metadata__</c>, a tensor is null, disposed or sparse,
    /// or has a dtype safetensors cannot store here (e.g. complex).</exception>
    /// <exception cref="InvalidOperationException">A tensor's data could not be copied to the CPU (e.g. a meta tensor).</exception>
    /// <exception cref="System.IO.DirectoryNotFoundException">The folder of <paramref name="path"/> does not exist (the message names the path and the missing folder).</exception>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        SafetensorsWriter.Save(path, tensors, metadata);

    /// <summary>
    /// Serializes <paramref name="tensors"/> and <paramref name="metadata"/> to safetensors bytes: a compact JSON
    /// header (<c>__metadata__</c> first when non-empty, then tensors sorted by ordinal name) padded with spaces
    /// to a multiple of 8 bytes, followed by the tensors' little-endian data, contiguous and in the same order.
    /// </summary>
    /// <param name="tensors">The tensors by name, on any device, contiguous or not; they are not modified.</param>
    /// <param name="metadata">Optional string metadata, written as <c>__metadata__</c> when non-empty.</param>
    /// <returns>The complete file contents.</returns>
    /// <exception cref="ArgumentException">A name is <c>__metadata__</c>, a tensor is null, disposed or sparse,
    /// has an unsupported dtype, or the result would not fit in a byte array (use <see cref="Save"/>).</exception>
    /// <exception cref="InvalidOperationException">A tensor's data could not be copied to the CPU (e.g. a meta tensor).</exception>
    public static byte[] Serialize(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        SafetensorsWriter.Serialize(tensors, metadata);

    /// <summary>
    /// Reads a safetensors file and validates it completely (header, dtypes, shapes, offsets, that the
    /// tensors cover the data buffer exactly, BOOL values) before returning; it never returns a partially
    /// valid result. The caller owns the result and disposes it.
    /// </summary>
    /// <param name="path">The file to read.</param>
    /// <returns>The CPU tensors (owning their memory) and metadata.</returns>
    /// <exception cref="SafetensorsFormatException">The file is not valid safetensors (a file TorchSharp's <c>Module.save</c> wrote is named as such).</exception>
    public static SafetensorsContent Load(string path) => SafetensorsReader.Load(path);

    /// <summary>
    /// Parses safetensors bytes and validates them completely before returning; it never returns a partially
    /// valid result. The tensors are CPU tensors owning their memory (copies, not views on
    /// <paramref name="bytes"/>). The caller owns the result and disposes it.
    /// </summary>
    /// <param name="bytes">The complete file contents.</param>
    /// <param name="sourceName">The name used for the data in error messages (e.g. a file path).</param>
    /// <returns>The CPU tensors and metadata.</returns>
    /// <exception cref="SafetensorsFormatException">The bytes are not valid safetensors.</exception>
    public static SafetensorsContent Parse(ReadOnlySpan<byte> bytes, string sourceName) => SafetensorsReader.Parse(bytes, sourceName);
}
