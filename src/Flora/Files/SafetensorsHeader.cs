using System;
using System.Buffers;
using System.Collections.Generic;
using System.Linq;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Flora;

/// <summary>
/// The JSON header of a safetensors file: one entry per tensor (dtype, shape, data offsets) and an optional
/// <see cref="MetadataKey"/> object of string metadata. <see cref="SafetensorsHeaderParser"/> reads and validates it.
/// </summary>
internal static class SafetensorsHeader
{
    /// <summary>The header key of the string metadata object; no tensor may take this name.</summary>
    internal const string MetadataKey = "__metadata__";

    /// <summary>The largest header the reader accepts (the reference implementation's limit).</summary>
    internal const long MaxHeaderLength = 100_000_000;

    /// <summary>One tensor's header entry: its dtype, shape and <c>[Begin, End)</c> byte range in the data buffer.</summary>
    internal sealed record Entry(string Name, SafetensorsDtype Dtype, long[] Shape, long Begin, long End);

    /// <summary>A validated header: the entries sorted by offset, covering the data buffer exactly, and the metadata.</summary>
    internal sealed record Parsed(List<Entry> Entries, SortedDictionary<string, string> Metadata);

    /// <summary>
    /// The header bytes for <paramref name="entries"/> (in their order) and <paramref name="metadata"/>: compact JSON,
    /// <see cref="MetadataKey"/> first when non-empty, padded with spaces so that the 8-byte length prefix and the header
    /// end on a multiple of 8 bytes, as the reference writer does.
    /// </summary>
    /// <exception cref="ArgumentException">A metadata key or value is null.</exception>
    internal static byte[] Serialize(IEnumerable<Entry> entries, IReadOnlyDictionary<string, string>? metadata)
    {
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
            foreach (var entry in entries)
            {
                writer.WriteStartObject(entry.Name);
                writer.WriteString("dtype", entry.Dtype.Name);
                writer.WriteStartArray("shape");
                foreach (long dim in entry.Shape) writer.WriteNumberValue(dim);
                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(entry.Begin);
                writer.WriteNumberValue(entry.End);
                writer.WriteEndArray();
                writer.WriteEndObject();
            }
            writer.WriteEndObject();
        }

        int length = json.WrittenCount;
        int padded = (length + 7) / 8 * 8;
        var header = new byte[padded];
        json.WrittenSpan.CopyTo(header);
        header.AsSpan(length).Fill((byte)' ');
        return header;
    }
}
