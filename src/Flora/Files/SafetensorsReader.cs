using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// Reads safetensors from a file or bytes: checks the 8-byte header length, has <see cref="SafetensorsHeaderParser"/>
/// validate the header, then copies each tensor's data into a new CPU tensor, checking BOOL bytes on the way. A file
/// that fails any check yields no tensors.
/// </summary>
internal static class SafetensorsReader
{
    private const string Damaged = SafetensorsFormatException.DamagedFileAdvice;

    /// <inheritdoc cref="Safetensors.Load"/>
    internal static SafetensorsContent Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        TensorBytes.RequireLittleEndian();

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        long fileLength = stream.Length;
        if (fileLength < 8)
            throw TooShort(path, fileLength);
        // The first bytes: the header length, and enough to say what a file that is not safetensors is.
        var start = new byte[(int)Math.Min(TorchSharpSaveFormat.PrefixLength, fileLength)];
        stream.ReadExactly(start);
        stream.Position = 8;
        int headerLength = CheckHeaderLength(start, fileLength, path);
        var headerBytes = new byte[headerLength];
        stream.ReadExactly(headerBytes);
        var header = SafetensorsHeaderParser.Parse(headerBytes, fileLength - 8 - headerLength, path);

        var loaded = new List<(string Name, Tensor Tensor)>(header.Entries.Count);
        try
        {
            // The entries are sorted by offset and cover the data buffer without gaps: read sequentially.
            foreach (var entry in header.Entries)
            {
                var tensor = torch.empty(entry.Shape, dtype: entry.Dtype.Type, device: torch.CPU);
                loaded.Add((entry.Name, tensor));
                long elementIndex = 0;
                TensorBytes.ForEachChunk(tensor, entry.End - entry.Begin, chunk =>
                {
                    try
                    {
                        stream.ReadExactly(chunk);
                    }
                    catch (EndOfStreamException)
                    {
                        throw new SafetensorsFormatException(path, entry.Name, "the file ended while this tensor's data was being read; it was truncated while being loaded.");
                    }
                    if (entry.Dtype.Type == ScalarType.Bool)
                        CheckBool(chunk, elementIndex, path, entry.Name);
                    elementIndex += chunk.Length;
                });
            }
            return Wrap(loaded, header.Metadata);
        }
        catch
        {
            foreach (var (_, tensor) in loaded) tensor.Dispose();
            throw;
        }
    }

    /// <inheritdoc cref="Safetensors.Parse"/>
    internal static SafetensorsContent Parse(ReadOnlySpan<byte> bytes, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(sourceName);
        TensorBytes.RequireLittleEndian();

        if (bytes.Length < 8)
            throw TooShort(sourceName, bytes.Length);
        int headerLength = CheckHeaderLength(bytes[..(int)Math.Min(TorchSharpSaveFormat.PrefixLength, bytes.Length)], bytes.Length, sourceName);
        var header = SafetensorsHeaderParser.Parse(bytes.Slice(8, headerLength), bytes.Length - 8L - headerLength, sourceName);
        var data = bytes[(8 + headerLength)..];

        foreach (var entry in header.Entries)
            if (entry.Dtype.Type == ScalarType.Bool)
                CheckBool(data[(int)entry.Begin..(int)entry.End], 0, sourceName, entry.Name);

        var loaded = new List<(string Name, Tensor Tensor)>(header.Entries.Count);
        try
        {
            foreach (var entry in header.Entries)
            {
                var tensor = torch.empty(entry.Shape, dtype: entry.Dtype.Type, device: torch.CPU);
                loaded.Add((entry.Name, tensor));
                if (entry.End > entry.Begin)
                    data[(int)entry.Begin..(int)entry.End].CopyTo(tensor.bytes);
            }
            return Wrap(loaded, header.Metadata);
        }
        catch
        {
            foreach (var (_, tensor) in loaded) tensor.Dispose();
            throw;
        }
    }

    private static SafetensorsContent Wrap(List<(string Name, Tensor Tensor)> loaded, SortedDictionary<string, string> metadata)
    {
        var tensors = new SortedDictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, tensor) in loaded) tensors.Add(name, tensor);
        return new SafetensorsContent(new ReadOnlyDictionary<string, Tensor>(tensors), new ReadOnlyDictionary<string, string>(metadata));
    }

    private static SafetensorsFormatException TooShort(string source, long length) =>
        new(source, null, $"it is {length} bytes long, shorter than the 8-byte header length that starts every safetensors file." + Damaged);

    /// <summary>
    /// Checks the 8-byte header length at the start of <paramref name="start"/> (the file's first bytes) against the
    /// file's length; returns the header length. A file in TorchSharp's own format is named as such.
    /// </summary>
    private static int CheckHeaderLength(ReadOnlySpan<byte> start, long fileLength, string source)
    {
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(start);
        if ((n == 0 || n > (ulong)(fileLength - 8)) && TorchSharpSaveFormat.TryRecognise(start, out long entries, out string firstName))
            throw new SafetensorsFormatException(source, null,
                $"it is in TorchSharp's own format (Module.save), not safetensors: {entries} tensor{(entries == 1 ? "" : "s")}, the first '{firstName}'. " +
                "Load it into the model that wrote it with model.load(path); an adapter file is the safetensors file SaveFlora / FloraAttachment.Save write.");
        if (n == 0)
            throw new SafetensorsFormatException(source, null, "the header length is 0; a safetensors header holds at least the JSON object '{}'." + Damaged);
        // The same order as the reference reader: the size limit first, then the file's length.
        if (n > SafetensorsHeader.MaxHeaderLength)
            throw new SafetensorsFormatException(source, null, $"the header length {n} exceeds the 100 MB limit (100000000 bytes) that safetensors readers accept; the file is damaged or is not a safetensors file.");
        if (n > (ulong)(fileLength - 8))
            throw new SafetensorsFormatException(source, null, $"the header length {n} is larger than the {fileLength - 8} bytes that follow it; the file is truncated or is not a safetensors file.");
        return (int)n;
    }

    private static void CheckBool(ReadOnlySpan<byte> data, long firstIndex, string source, string key)
    {
        int bad = data.IndexOfAnyExcept((byte)0, (byte)1);
        if (bad >= 0)
            throw new SafetensorsFormatException(source, key,
                $"BOOL element {firstIndex + bad} holds the byte 0x{data[bad]:X2}; BOOL bytes must be 0 or 1." + Damaged);
    }
}
