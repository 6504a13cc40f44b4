using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Flora;

/// <summary>
/// Reads and validates a safetensors JSON header against its data buffer: valid UTF-8 JSON, one object whose keys
/// appear once, string-only metadata, entries with exactly a supported dtype, a non-negative shape and data offsets
/// that match it, and entries that tile the data buffer. Every problem is a <see cref="SafetensorsFormatException"/>.
/// </summary>
internal static class SafetensorsHeaderParser
{
    private const string Damaged = SafetensorsFormatException.DamagedFileAdvice;

    /// <summary>
    /// Parses and validates the JSON header against a data buffer of <paramref name="dataLength"/> bytes.
    /// The entries come back sorted by offset; they cover the buffer exactly.
    /// </summary>
    internal static SafetensorsHeader.Parsed Parse(ReadOnlySpan<byte> json, long dataLength, string source)
    {
        if (!Utf8.IsValid(json))
            throw new SafetensorsFormatException(source, null, "the header is not valid UTF-8." + Damaged);

        if (json.IndexOfAnyExcept(" \t\r\n"u8) < 0)
            throw new SafetensorsFormatException(source, null, "the header is empty or only whitespace; it must be a JSON object." + Damaged);

        var entries = new List<SafetensorsHeader.Entry>();
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
                if (key == SafetensorsHeader.MetadataKey)
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
        return new SafetensorsHeader.Parsed(entries, metadata);
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
            throw new SafetensorsFormatException(source, SafetensorsHeader.MetadataKey, $"the metadata is {Describe(reader.TokenType)}; it must be a JSON object whose values are strings." + Damaged);
        while (true)
        {
            Next(ref reader);
            if (reader.TokenType == JsonTokenType.EndObject) return;
            string name = reader.GetString()!;
            Next(ref reader);
            if (reader.TokenType != JsonTokenType.String)
                throw new SafetensorsFormatException(source, SafetensorsHeader.MetadataKey, $"the metadata value of '{name}' is {Describe(reader.TokenType)}; metadata values must be strings." + Damaged);
            if (metadata.ContainsKey(name))
                throw new SafetensorsFormatException(source, SafetensorsHeader.MetadataKey, $"the metadata key '{name}' appears more than once." + Damaged);
            metadata.Add(name, reader.GetString()!);
        }
    }

    private static SafetensorsHeader.Entry ReadEntry(ref Utf8JsonReader reader, string key, long dataLength, string source)
    {
        Next(ref reader);
        if (reader.TokenType != JsonTokenType.StartObject)
            throw new SafetensorsFormatException(source, key, $"the tensor entry is {Describe(reader.TokenType)}; it must be a JSON object with the fields dtype, shape and data_offsets." + Damaged);

        SafetensorsDtype? dtype = null;
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
                    dtype = SafetensorsDtype.FromName(name)
                        ?? throw new SafetensorsFormatException(source, key, $"dtype '{name}' is not supported; supported dtypes are {SafetensorsDtype.SupportedList}.");
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
        return new SafetensorsHeader.Entry(key, dtype, shape, begin, end);
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
    private static void CheckCoverage(List<SafetensorsHeader.Entry> entries, long dataLength, string source)
    {
        entries.Sort((a, b) =>
        {
            int c = a.Begin.CompareTo(b.Begin);
            if (c == 0) c = a.End.CompareTo(b.End);
            return c != 0 ? c : string.CompareOrdinal(a.Name, b.Name);
        });

        long covered = 0;
        SafetensorsHeader.Entry? previous = null;
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
}
