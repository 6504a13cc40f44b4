using System;
using System.Buffers.Binary;

namespace Flora.Testing;

/// <summary>
/// The bytes of IDX files (MNIST's format: a big-endian header, then unsigned bytes), for tests that write small MNIST
/// packages (compiled into the data and the CLI test projects).
/// </summary>
internal static class IdxFiles
{
    /// <summary>An IDX images file: magic 0x803, count, rows, cols, then the bytes (big-endian header).</summary>
    public static byte[] Images(int count, int rows, int columns, byte[] pixels, int magic = 0x00000803)
    {
        var bytes = new byte[16 + pixels.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(0), magic);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(12), columns);
        pixels.CopyTo(bytes, 16);
        return bytes;
    }

    /// <summary>An IDX labels file: magic 0x801, count, then the bytes.</summary>
    public static byte[] Labels(byte[] labels, int? count = null, int magic = 0x00000801)
    {
        var bytes = new byte[8 + labels.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(0), magic);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), count ?? labels.Length);
        labels.CopyTo(bytes, 8);
        return bytes;
    }
}
