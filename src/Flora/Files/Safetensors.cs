// A strict reader and writer of the safetensors format (https://github.com/huggingface/safetensors)
// for TorchSharp tensors: 8-byte little-endian header length N, N bytes of UTF-8 JSON, then the data
// buffer. The reader validates everything (header, dtypes, shapes, offsets, coverage of the data
// buffer) before it allocates a single tensor, and never returns a partially valid result.
using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;
using TorchSharp;
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

/// <summary>
/// Thrown for a file that is not valid safetensors; the message names the file, the key (when there is
/// one) and what is wrong.
/// </summary>
public sealed class SafetensorsFormatException : IOException
{
    /// <summary>Creates the exception for a file (or other source), an optional key and the problem found.</summary>
    /// <param name="path">The file path or source name of the invalid data.</param>
    /// <param name="key">The header key (tensor name or <c>__metadata__</c>) the problem concerns, or null.</param>
    /// <param name="problem">What is wrong, as one or more sentences a user can act on.</param>
    public SafetensorsFormatException(string path, string? key, string problem)
        : base(Compose(path, key, problem))
    {
        Path = path;
        Key = key;
    }

    /// <summary>The file path or source name of the invalid data.</summary>
    public string Path { get; }

    /// <summary>The header key (tensor name or <c>__metadata__</c>) the problem concerns, or null when it concerns the whole file.</summary>
    public string? Key { get; }

    private static string Compose(string path, string? key, string problem)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(problem);
        return key is null
            ? $"'{path}' is not a valid safetensors file: {problem}"
            : $"'{path}' is not a valid safetensors file: key '{key}': {problem}";
    }
}

/// <summary>
/// Reads and writes the safetensors format: named tensors of dtypes F32, F16, BF16, F64, I64, I32, I16,
/// I8, U8 and BOOL, plus string metadata.
/// </summary>
public static class Safetensors
{
    /// <summary>The largest header the reader accepts (the reference implementation's limit).</summary>
    internal const long MaxHeaderLength = 100_000_000;

    internal const string MetadataKey = "__metadata__";

    private const string Damaged = " The file is damaged or was not written by a safetensors writer; re-save it.";

    /// <summary>Bytes copied per step between a tensor and a stream (keeps each span well below 2 GiB).</summary>
    private const long ChunkBytes = 1L << 30;

    internal sealed record DtypeInfo(string Name, ScalarType Type, int Size);

    internal static readonly DtypeInfo[] Dtypes =
    [
        new("F32", ScalarType.Float32, 4),
        new("F16", ScalarType.Float16, 2),
        new("BF16", ScalarType.BFloat16, 2),
        new("F64", ScalarType.Float64, 8),
        new("I64", ScalarType.Int64, 8),
        new("I32", ScalarType.Int32, 4),
        new("I16", ScalarType.Int16, 2),
        new("I8", ScalarType.Int8, 1),
        new("U8", ScalarType.Byte, 1),
        new("BOOL", ScalarType.Bool, 1),
    ];

    private static readonly string SupportedList = string.Join(", ", Dtypes.Select(d => d.Name));

    private static DtypeInfo? DtypeByName(string name) => Array.Find(Dtypes, d => d.Name == name);

    private static DtypeInfo? DtypeByType(ScalarType type) => Array.Find(Dtypes, d => d.Type == type);

    // ------------------------------------------------------------------------------------------------
    // Writing
    // ------------------------------------------------------------------------------------------------

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
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var plan = Plan(tensors, metadata);

        string fullPath = System.IO.Path.GetFullPath(path);
        string temporary = fullPath + ".tmp-" + Guid.NewGuid().ToString("N");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                WriteAll(stream, plan);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, fullPath, overwrite: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

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
    public static byte[] Serialize(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var plan = Plan(tensors, metadata);
        long total = 8L + plan.Header.Length + plan.DataLength;
        if (total > Array.MaxLength)
            throw new ArgumentException($"The tensors take {total} bytes, more than a byte array can hold; use Safetensors.Save to write them to a file.", nameof(tensors));
        var buffer = new byte[total];
        using (var stream = new MemoryStream(buffer, writable: true))
        {
            WriteAll(stream, plan);
            if (stream.Position != total)
                throw new InvalidOperationException($"Safetensors serialization wrote {stream.Position} bytes, expected {total}; a tensor changed while it was being serialized.");
        }
        return buffer;
    }

    private sealed record PlannedTensor(string Name, Tensor Tensor, DtypeInfo Dtype, long[] Shape, long Begin, long End);

    private sealed record WritePlan(byte[] Header, List<PlannedTensor> Tensors, long DataLength);

    /// <summary>Validates the inputs and builds the padded header; touches no tensor data.</summary>
    private static WritePlan Plan(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        ArgumentNullException.ThrowIfNull(tensors);

        var planned = new List<PlannedTensor>(tensors.Count);
        long offset = 0;
        foreach (var (name, tensor) in tensors.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (name is null)
                throw new ArgumentException("A tensor name is null.", nameof(tensors));
            if (name == MetadataKey)
                throw new ArgumentException($"A tensor cannot be named '{MetadataKey}'; that key holds the file's metadata.", nameof(tensors));
            if (tensor is null)
                throw new ArgumentException($"Tensor '{name}' is null.", nameof(tensors));
            if (tensor.IsInvalid)
                throw new ArgumentException($"Tensor '{name}' has been disposed.", nameof(tensors));
            var dtype = DtypeByType(tensor.dtype)
                ?? throw new ArgumentException($"Tensor '{name}' has dtype {tensor.dtype}, which cannot be stored in safetensors here; supported: {SupportedList}.", nameof(tensors));
            if (tensor.is_sparse)
                throw new ArgumentException($"Tensor '{name}' is sparse; convert it to a dense tensor (to_dense()) before saving.", nameof(tensors));

            long[] shape = tensor.shape;
            long bytes;
            try
            {
                bytes = checked(shape.Aggregate(1L, (a, b) => a * b) * dtype.Size);
            }
            catch (OverflowException)
            {
                throw new ArgumentException($"Tensor '{name}' of shape [{string.Join(", ", shape)}] is too large.", nameof(tensors));
            }
            planned.Add(new PlannedTensor(name, tensor, dtype, shape, offset, offset + bytes));
            offset = checked(offset + bytes);
        }

        var json = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(json, new JsonWriterOptions { Indented = false, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                writer.WriteStartObject(MetadataKey);
                foreach (var (key, value) in metadata.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    if (key is null)
                        throw new ArgumentException("A metadata key is null.", nameof(metadata));
                    if (value is null)
                        throw new ArgumentException($"The metadata value of '{key}' is null; safetensors metadata values are strings.", nameof(metadata));
                    writer.WriteString(key, value);
                }
                writer.WriteEndObject();
            }
            foreach (var t in planned)
            {
                writer.WriteStartObject(t.Name);
                writer.WriteString("dtype", t.Dtype.Name);
                writer.WriteStartArray("shape");
                foreach (long dim in t.Shape) writer.WriteNumberValue(dim);
                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(t.Begin);
                writer.WriteNumberValue(t.End);
                writer.WriteEndArray();
                writer.WriteEndObject();
            }
            writer.WriteEndObject();
        }

        // Pad with spaces so that 8 + N is a multiple of 8, as the reference writer does.
        int length = json.WrittenCount;
        int padded = (length + 7) / 8 * 8;
        var header = new byte[padded];
        json.WrittenSpan.CopyTo(header);
        header.AsSpan(length).Fill((byte)' ');
        return new WritePlan(header, planned, offset);
    }

    private static void WriteAll(Stream stream, WritePlan plan)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("Safetensors stores little-endian data; big-endian platforms are not supported.");

        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)plan.Header.Length);
        stream.Write(prefix);
        stream.Write(plan.Header);

        foreach (var t in plan.Tensors)
        {
            long expected = t.End - t.Begin;
            if (expected == 0) continue;
            // Copies (detached, CPU, contiguous) are temporaries of this scope; the caller's tensor is untouched.
            using var scope = torch.NewDisposeScope();
            Tensor cpu;
            try
            {
                cpu = t.Tensor.detach().cpu().contiguous();
            }
            catch (ExternalException e)
            {
                // e.g. a meta tensor, or a device error: name the tensor, keep libtorch's first line.
                throw new InvalidOperationException($"Tensor '{t.Name}' could not be copied to the CPU for saving: {e.Message.Split('\n')[0]}", e);
            }
            if (cpu.dtype != t.Dtype.Type || !cpu.shape.SequenceEqual(t.Shape))
                throw new InvalidOperationException($"Tensor '{t.Name}' changed while it was being saved.");
            ForEachChunk(cpu, expected, chunk => stream.Write(chunk));
        }
    }

    private static void TryDelete(string file)
    {
        try
        {
            File.Delete(file);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    internal delegate void ChunkAction(Span<byte> chunk);

    /// <summary>Calls <paramref name="action"/> on the raw bytes of a contiguous CPU tensor, in order, in chunks of at most <paramref name="chunkBytes"/> bytes (whole elements; 1 GiB by default).</summary>
    internal static void ForEachChunk(Tensor contiguousCpu, long totalBytes, ChunkAction action, long chunkBytes = ChunkBytes)
    {
        if (totalBytes == 0) return;
        if (totalBytes <= chunkBytes)
        {
            action(contiguousCpu.bytes);
            return;
        }
        long elementSize = contiguousCpu.ElementSize;
        long numel = contiguousCpu.numel();
        long step = Math.Max(1, chunkBytes / elementSize);
        using var flat = contiguousCpu.view(-1L);
        for (long start = 0; start < numel; start += step)
        {
            using var part = flat.narrow(0, start, Math.Min(step, numel - start));
            action(part.bytes);
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Reading
    // ------------------------------------------------------------------------------------------------

    /// <summary>
    /// Reads a safetensors file and validates it completely (header, dtypes, shapes, offsets, that the
    /// tensors cover the data buffer exactly, BOOL values) before returning; it never returns a partially
    /// valid result. The caller owns the result and disposes it.
    /// </summary>
    /// <param name="path">The file to read.</param>
    /// <returns>The CPU tensors (owning their memory) and metadata.</returns>
    /// <exception cref="SafetensorsFormatException">The file is not valid safetensors.</exception>
    public static SafetensorsContent Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        RequireLittleEndian();

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        long fileLength = stream.Length;
        if (fileLength < 8)
            throw TooShort(path, fileLength);
        Span<byte> prefix = stackalloc byte[8];
        stream.ReadExactly(prefix);
        int headerLength = CheckHeaderLength(prefix, fileLength, path);
        var headerBytes = new byte[headerLength];
        stream.ReadExactly(headerBytes);
        var header = ParseHeader(headerBytes, fileLength - 8 - headerLength, path);

        var loaded = new List<(string Name, Tensor Tensor)>(header.Entries.Count);
        try
        {
            // The entries are sorted by offset and cover the data buffer without gaps: read sequentially.
            foreach (var entry in header.Entries)
            {
                var tensor = torch.empty(entry.Shape, dtype: entry.Dtype.Type, device: torch.CPU);
                loaded.Add((entry.Name, tensor));
                long elementIndex = 0;
                ForEachChunk(tensor, entry.End - entry.Begin, chunk =>
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

    /// <summary>
    /// Parses safetensors bytes and validates them completely before returning; it never returns a partially
    /// valid result. The tensors are CPU tensors owning their memory (copies, not views on
    /// <paramref name="bytes"/>). The caller owns the result and disposes it.
    /// </summary>
    /// <param name="bytes">The complete file contents.</param>
    /// <param name="sourceName">The name used for the data in error messages (e.g. a file path).</param>
    /// <returns>The CPU tensors and metadata.</returns>
    /// <exception cref="SafetensorsFormatException">The bytes are not valid safetensors.</exception>
    public static SafetensorsContent Parse(ReadOnlySpan<byte> bytes, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(sourceName);
        RequireLittleEndian();

        if (bytes.Length < 8)
            throw TooShort(sourceName, bytes.Length);
        int headerLength = CheckHeaderLength(bytes[..8], bytes.Length, sourceName);
        var header = ParseHeader(bytes.Slice(8, headerLength), bytes.Length - 8L - headerLength, sourceName);
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

    private static void RequireLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("Safetensors stores little-endian data; big-endian platforms are not supported.");
    }

    private static SafetensorsFormatException TooShort(string source, long length) =>
        new(source, null, $"it is {length} bytes long, shorter than the 8-byte header length that starts every safetensors file." + Damaged);

    /// <summary>Checks the 8-byte prefix against the file's length; returns the header length.</summary>
    private static int CheckHeaderLength(ReadOnlySpan<byte> prefix, long fileLength, string source)
    {
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (n == 0)
            throw new SafetensorsFormatException(source, null, "the header length is 0; a safetensors header holds at least the JSON object '{}'." + Damaged);
        // The same order as the reference reader: the size limit first, then the file's length.
        if (n > MaxHeaderLength)
            throw new SafetensorsFormatException(source, null, $"the header length {n} exceeds the 100 MB limit (100000000 bytes) that safetensors readers accept; the file is damaged or is not a safetensors file.");
        if (n > (ulong)(fileLength - 8))
            throw new SafetensorsFormatException(source, null, $"the header length {n} is larger than the {fileLength - 8} bytes that follow it; the file is truncated or is not a safetensors file.");
        return (int)n;
    }

    internal sealed record HeaderEntry(string Name, DtypeInfo Dtype, long[] Shape, long Begin, long End);

    internal sealed record ParsedHeader(List<HeaderEntry> Entries, SortedDictionary<string, string> Metadata);

    /// <summary>
    /// Parses and validates the JSON header against a data buffer of <paramref name="dataLength"/> bytes.
    /// The entries come back sorted by offset; they cover the buffer exactly.
    /// </summary>
    internal static ParsedHeader ParseHeader(ReadOnlySpan<byte> json, long dataLength, string source)
    {
        if (!Utf8.IsValid(json))
            throw new SafetensorsFormatException(source, null, "the header is not valid UTF-8." + Damaged);

        if (json.IndexOfAnyExcept(" \t\r\n"u8) < 0)
            throw new SafetensorsFormatException(source, null, "the header is empty or only whitespace; it must be a JSON object." + Damaged);

        var entries = new List<HeaderEntry>();
        var metadata = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var keys = new HashSet<string>(StringComparer.Ordinal);
        var reader = new Utf8JsonReader(json, new JsonReaderOptions
        {
            CommentHandling = JsonCommentHandling.Disallow,
            AllowTrailingCommas = false,
            MaxDepth = 64,
        });
        try
        {
            Next(ref reader);
            if (reader.TokenType != JsonTokenType.StartObject)
                throw new SafetensorsFormatException(source, null, $"the header is {Describe(reader.TokenType)}, not a JSON object." + Damaged);

            while (true)
            {
                Next(ref reader);
                if (reader.TokenType == JsonTokenType.EndObject) break;
                string key = reader.GetString()!;
                if (!keys.Add(key))
                    throw new SafetensorsFormatException(source, key, "the key appears more than once in the header." + Damaged);
                if (key == MetadataKey)
                    ReadMetadata(ref reader, metadata, source);
                else
                    entries.Add(ReadEntry(ref reader, key, dataLength, source));
            }
            if (reader.Read())
                throw new SafetensorsFormatException(source, null, "the header has content after its JSON object." + Damaged);
        }
        catch (JsonException e)
        {
            throw new SafetensorsFormatException(source, null, $"the header is not valid JSON ({e.Message})." + Damaged);
        }
        catch (InvalidOperationException e)
        {
            // GetString on a string with an invalid escape (e.g. a lone surrogate).
            throw new SafetensorsFormatException(source, null, $"the header holds a JSON string that is not valid text ({e.Message})." + Damaged);
        }

        CheckCoverage(entries, dataLength, source);
        return new ParsedHeader(entries, metadata);
    }

    /// <summary>Reads the next token; the header ends only after its object closes.</summary>
    private static void Next(ref Utf8JsonReader reader)
    {
        if (!reader.Read())
            throw new JsonException("the JSON ends early");
    }

    private static string Describe(JsonTokenType type) => type switch
    {
        JsonTokenType.StartObject => "a JSON object",
        JsonTokenType.StartArray => "a JSON array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => type.ToString(),
    };

    private static void ReadMetadata(ref Utf8JsonReader reader, SortedDictionary<string, string> metadata, string source)
    {
        Next(ref reader);
        if (reader.TokenType != JsonTokenType.StartObject)
            throw new SafetensorsFormatException(source, MetadataKey, $"the metadata is {Describe(reader.TokenType)}; it must be a JSON object whose values are strings." + Damaged);
        while (true)
        {
            Next(ref reader);
            if (reader.TokenType == JsonTokenType.EndObject) return;
            string name = reader.GetString()!;
            Next(ref reader);
            if (reader.TokenType != JsonTokenType.String)
                throw new SafetensorsFormatException(source, MetadataKey, $"the metadata value of '{name}' is {Describe(reader.TokenType)}; metadata values must be strings." + Damaged);
            if (metadata.ContainsKey(name))
                throw new SafetensorsFormatException(source, MetadataKey, $"the metadata key '{name}' appears more than once." + Damaged);
            metadata.Add(name, reader.GetString()!);
        }
    }

    private static HeaderEntry ReadEntry(ref Utf8JsonReader reader, string key, long dataLength, string source)
    {
        Next(ref reader);
        if (reader.TokenType != JsonTokenType.StartObject)
            throw new SafetensorsFormatException(source, key, $"the tensor entry is {Describe(reader.TokenType)}; it must be a JSON object with the fields dtype, shape and data_offsets." + Damaged);

        DtypeInfo? dtype = null;
        long[]? shape = null;
        long[]? offsets = null;
        while (true)
        {
            Next(ref reader);
            if (reader.TokenType == JsonTokenType.EndObject) break;
            string field = reader.GetString()!;
            switch (field)
            {
                case "dtype":
                    if (dtype is not null)
                        throw new SafetensorsFormatException(source, key, "the field 'dtype' appears more than once." + Damaged);
                    Next(ref reader);
                    if (reader.TokenType != JsonTokenType.String)
                        throw new SafetensorsFormatException(source, key, $"dtype is {Describe(reader.TokenType)}; it must be a string such as \"F32\"." + Damaged);
                    string name = reader.GetString()!;
                    dtype = DtypeByName(name)
                        ?? throw new SafetensorsFormatException(source, key, $"dtype '{name}' is not supported; supported dtypes are {SupportedList}.");
                    break;
                case "shape":
                    if (shape is not null)
                        throw new SafetensorsFormatException(source, key, "the field 'shape' appears more than once." + Damaged);
                    shape = ReadIntegers(ref reader, key, "shape", source);
                    foreach (long dim in shape)
                        if (dim < 0)
                            throw new SafetensorsFormatException(source, key, $"shape [{string.Join(", ", shape)}] has a negative dimension." + Damaged);
                    break;
                case "data_offsets":
                    if (offsets is not null)
                        throw new SafetensorsFormatException(source, key, "the field 'data_offsets' appears more than once." + Damaged);
                    offsets = ReadIntegers(ref reader, key, "data_offsets", source);
                    if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < 0)
                        throw new SafetensorsFormatException(source, key, $"data_offsets [{string.Join(", ", offsets)}] must be two non-negative integers [begin, end]." + Damaged);
                    if (offsets[0] > offsets[1])
                        throw new SafetensorsFormatException(source, key, $"data_offsets [{offsets[0]}, {offsets[1]}] begin after they end." + Damaged);
                    break;
                default:
                    throw new SafetensorsFormatException(source, key, $"the tensor entry has an unexpected field '{field}'; an entry has exactly dtype, shape and data_offsets." + Damaged);
            }
        }

        if (dtype is null)
            throw new SafetensorsFormatException(source, key, "the tensor entry has no 'dtype' field." + Damaged);
        if (shape is null)
            throw new SafetensorsFormatException(source, key, "the tensor entry has no 'shape' field." + Damaged);
        if (offsets is null)
            throw new SafetensorsFormatException(source, key, "the tensor entry has no 'data_offsets' field." + Damaged);

        long begin = offsets[0], end = offsets[1];
        string shapeText = $"[{string.Join(", ", shape)}]";
        long expected;
        try
        {
            expected = checked(shape.Aggregate(1L, (a, b) => a * b) * dtype.Size);
        }
        catch (OverflowException)
        {
            throw new SafetensorsFormatException(source, key, $"shape {shapeText} of {dtype.Name} is too large to address." + Damaged);
        }
        if (end > dataLength)
            throw new SafetensorsFormatException(source, key, $"data_offsets [{begin}, {end}] reach past the end of the data buffer, which is {dataLength} bytes long." + Damaged);
        if (end - begin != expected)
            throw new SafetensorsFormatException(source, key, $"data_offsets [{begin}, {end}] do not match shape {shapeText} of {dtype.Name} ({expected} bytes)." + Damaged);
        return new HeaderEntry(key, dtype, shape, begin, end);
    }

    /// <summary>Reads a JSON array of integers (no fractions, no exponents) that fit in 64 bits.</summary>
    private static long[] ReadIntegers(ref Utf8JsonReader reader, string key, string field, string source)
    {
        Next(ref reader);
        if (reader.TokenType != JsonTokenType.StartArray)
            throw new SafetensorsFormatException(source, key, $"{field} is {Describe(reader.TokenType)}; it must be an array of non-negative integers." + Damaged);
        var values = new List<long>();
        while (true)
        {
            Next(ref reader);
            if (reader.TokenType == JsonTokenType.EndArray) return values.ToArray();
            if (reader.TokenType != JsonTokenType.Number)
                throw new SafetensorsFormatException(source, key, $"{field} contains {Describe(reader.TokenType)}; it must be an array of non-negative integers." + Damaged);
            if (!reader.TryGetInt64(out long value) || !IsPlainInteger(reader.ValueSpan))
                throw new SafetensorsFormatException(source, key, $"{field} contains {Encoding.UTF8.GetString(reader.ValueSpan)}, which is not an integer in range." + Damaged);
            values.Add(value);
        }
    }

    /// <summary>True for a JSON number written as digits with an optional leading minus sign.</summary>
    private static bool IsPlainInteger(ReadOnlySpan<byte> text)
    {
        if (!text.IsEmpty && text[0] == (byte)'-') text = text[1..];
        if (text.IsEmpty) return false;
        foreach (byte b in text)
            if (b < (byte)'0' || b > (byte)'9') return false;
        return true;
    }

    /// <summary>Checks that the entries tile the data buffer: no overlaps, no gaps, no trailing bytes. Sorts them by offset.</summary>
    private static void CheckCoverage(List<HeaderEntry> entries, long dataLength, string source)
    {
        entries.Sort((a, b) =>
        {
            int c = a.Begin.CompareTo(b.Begin);
            if (c == 0) c = a.End.CompareTo(b.End);
            return c != 0 ? c : string.CompareOrdinal(a.Name, b.Name);
        });

        long covered = 0;
        HeaderEntry? previous = null;
        foreach (var entry in entries)
        {
            if (entry.Begin < covered)
                throw new SafetensorsFormatException(source, entry.Name,
                    $"data_offsets [{entry.Begin}, {entry.End}] overlap those of tensor '{previous!.Name}' [{previous.Begin}, {previous.End}]." + Damaged);
            if (entry.Begin > covered)
                throw new SafetensorsFormatException(source, entry.Name,
                    $"data_offsets [{entry.Begin}, {entry.End}] leave bytes [{covered}, {entry.Begin}) of the data buffer covered by no tensor." + Damaged);
            previous = entry;
            covered = entry.End;
        }
        if (covered != dataLength)
            throw new SafetensorsFormatException(source, null,
                $"the data buffer is {dataLength} bytes long but the tensors cover only its first {covered}; the {dataLength - covered} bytes after them belong to no tensor." + Damaged);
    }

    private static void CheckBool(ReadOnlySpan<byte> data, long firstIndex, string source, string key)
    {
        int bad = data.IndexOfAnyExcept((byte)0, (byte)1);
        if (bad >= 0)
            throw new SafetensorsFormatException(source, key,
                $"BOOL element {firstIndex + bad} holds the byte 0x{data[bad]:X2}; BOOL bytes must be 0 or 1." + Damaged);
    }
}
