using System;
using System.Text;

namespace Flora;

/// <summary>
/// Recognises TorchSharp's own state-dict format, what <c>Module.save(path)</c> writes (and TorchSharp's
/// <c>exportsd.py</c> for PyTorch): an unsigned LEB128 count of entries, then per entry a LEB128-length-prefixed UTF-8
/// name, the tensor's LEB128 element type and rank, its LEB128 sizes and its raw data. Safetensors starts instead with
/// an 8-byte header length, so such a file read as safetensors claims an absurd header; this lets the reader say what
/// the file is instead.
/// </summary>
internal static class TorchSharpSaveFormat
{
    /// <summary>How many leading bytes <see cref="TryRecognise"/> looks at, at most.</summary>
    public const int PrefixLength = 4096;

    /// <summary>
    /// Whether <paramref name="start"/> (the file's first bytes) begins like a <c>Module.save</c> file: a plausible entry
    /// count, a first name of printable UTF-8 and a known element type and rank. Gives the count and the first name.
    /// </summary>
    public static bool TryRecognise(ReadOnlySpan<byte> start, out long entries, out string firstName)
    {
        entries = 0;
        firstName = "";
        int at = 0;
        if (!TryReadLeb128(start, ref at, out ulong count) || count is 0 or > 100_000_000) return false;
        if (!TryReadLeb128(start, ref at, out ulong nameLength) || nameLength is 0 or > 1024 || (ulong)(start.Length - at) < nameLength) return false;
        string name;
        try
        {
            name = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(start.Slice(at, (int)nameLength));
        }
        catch (ArgumentException)
        {
            return false;
        }
        foreach (char c in name)
            if (char.IsControl(c) || char.IsWhiteSpace(c)) return false;
        at += (int)nameLength;
        // TorchSharp's ScalarType codes: Byte 0 … Float64 7, ComplexFloat32 9, ComplexFloat64 10, Bool 11, BFloat16 15.
        if (!TryReadLeb128(start, ref at, out ulong type) || type is 8 or 12 or 13 or 14 or > 15) return false;
        if (!TryReadLeb128(start, ref at, out ulong rank) || rank > 32) return false;
        entries = (long)count;
        firstName = name;
        return true;
    }

    private static bool TryReadLeb128(ReadOnlySpan<byte> bytes, ref int at, out ulong value)
    {
        value = 0;
        for (int shift = 0; shift < 63; shift += 7)
        {
            if (at >= bytes.Length) return false;
            byte b = bytes[at++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return true;
        }
        return false;
    }
}
