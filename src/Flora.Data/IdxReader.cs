using System;
using System.Buffers.Binary;
using System.IO;

namespace Flora.Data;

/// <summary>The contents of an IDX images file: <see cref="Count"/> images of <see cref="Rows"/> × <see cref="Columns"/> unsigned bytes, row-major.</summary>
/// <param name="Count">The number of images.</param>
/// <param name="Rows">The height of each image.</param>
/// <param name="Columns">The width of each image.</param>
/// <param name="Pixels">All pixels, image after image, each image row by row (length Count × Rows × Columns).</param>
public sealed record IdxImages(int Count, int Rows, int Columns, byte[] Pixels);

/// <summary>
/// Reads the IDX files of MNIST (<c>train-images-idx3-ubyte</c> and friends), with strict header checks.
/// </summary>
/// <remarks>
/// The format is big-endian: a magic number <c>0x00000803</c> for images (unsigned bytes, 3 dimensions) or
/// <c>0x00000801</c> for labels (unsigned bytes, 1 dimension), then one 32-bit size per dimension, then the bytes.
/// The file length must be exactly the header plus the product of the sizes; errors name the file and what is wrong.
/// Label values are not range-checked here (see <see cref="ImageDataset"/>).
/// </remarks>
public static class IdxReader
{
    /// <summary>The magic number of an images file: unsigned bytes, 3 dimensions.</summary>
    public const int ImagesMagic = 0x00000803;

    /// <summary>The magic number of a labels file: unsigned bytes, 1 dimension.</summary>
    public const int LabelsMagic = 0x00000801;

    private const int ImagesHeaderLength = 16;
    private const int LabelsHeaderLength = 8;

    /// <summary>Reads an IDX images file (magic <c>0x00000803</c>).</summary>
    /// <exception cref="DataException">The file is missing, or its header or length is wrong.</exception>
    public static IdxImages ReadImages(string path)
    {
        using FileStream stream = Open(path);
        long length = stream.Length;
        Span<byte> header = stackalloc byte[ImagesHeaderLength];
        ReadHeader(stream, length, header, path, ImagesMagic, "images", "3 dimensions");
        int count = BinaryPrimitives.ReadInt32BigEndian(header[4..]);
        int rows = BinaryPrimitives.ReadInt32BigEndian(header[8..]);
        int columns = BinaryPrimitives.ReadInt32BigEndian(header[12..]);
        if (count <= 0 || rows <= 0 || columns <= 0)
        {
            throw Error(path, $"has dimensions {count} x {rows} x {columns} in its header; every dimension must be greater than 0");
        }

        long imageSize = (long)rows * columns;
        long expected = imageSize > Array.MaxLength ? long.MaxValue : count * imageSize;
        if (expected > Array.MaxLength)
        {
            throw Error(path, $"has dimensions {count} x {rows} x {columns} in its header, more than {Array.MaxLength:N0} bytes in all");
        }

        CheckLength(path, length - ImagesHeaderLength, expected, ImagesHeaderLength, $"{count:N0} images of {rows} x {columns}");
        byte[] pixels = GC.AllocateUninitializedArray<byte>((int)expected);
        ReadExactly(stream, pixels, path);
        return new IdxImages(count, rows, columns, pixels);
    }

    /// <summary>Reads an IDX labels file (magic <c>0x00000801</c>) and returns the labels.</summary>
    /// <exception cref="DataException">The file is missing, or its header or length is wrong.</exception>
    public static byte[] ReadLabels(string path)
    {
        using FileStream stream = Open(path);
        long length = stream.Length;
        Span<byte> header = stackalloc byte[LabelsHeaderLength];
        ReadHeader(stream, length, header, path, LabelsMagic, "labels", "1 dimension");
        int count = BinaryPrimitives.ReadInt32BigEndian(header[4..]);
        if (count <= 0)
        {
            throw Error(path, $"has {count} labels in its header; the count must be greater than 0");
        }

        CheckLength(path, length - LabelsHeaderLength, count, LabelsHeaderLength, $"{count:N0} labels");
        byte[] labels = GC.AllocateUninitializedArray<byte>(count);
        ReadExactly(stream, labels, path);
        return labels;
    }

    /// <summary>
    /// Reads the <paramref name="header"/> (as many bytes as it has) of a file of <paramref name="length"/> bytes and
    /// checks its magic number: an IDX <paramref name="kind"/> file holds unsigned bytes in <paramref name="dimensions"/>.
    /// </summary>
    private static void ReadHeader(FileStream stream, long length, Span<byte> header, string path, int expectedMagic, string kind, string dimensions)
    {
        if (length < header.Length)
        {
            throw Error(path, $"is {length} bytes long, shorter than the {header.Length}-byte header of an IDX {kind} file");
        }

        ReadExactly(stream, header, path);
        int magic = BinaryPrimitives.ReadInt32BigEndian(header);
        if (magic != expectedMagic)
        {
            throw Error(path, $"has magic number 0x{magic:X8}, expected 0x{expectedMagic:X8} (IDX {kind}: unsigned bytes, {dimensions}){MagicHint(magic)}");
        }
    }

    private static void CheckLength(string path, long actual, long expected, int headerLength, string what)
    {
        if (actual < expected)
        {
            throw Error(path, $"is truncated: its header announces {what} = {expected:N0} bytes after the {headerLength}-byte header, but the file has only {actual:N0}");
        }

        if (actual > expected)
        {
            throw Error(path, $"has {actual - expected:N0} unexpected trailing bytes after the {what} ({expected:N0} bytes) announced in its header");
        }
    }

    private static string MagicHint(int magic)
    {
        if (magic == ImagesMagic)
        {
            return "; this is an images file";
        }

        if (magic == LabelsMagic)
        {
            return "; this is a labels file";
        }

        if ((magic >>> 16) == 0x1F8B)
        {
            return "; the file looks gzip-compressed, decompress it first";
        }

        return string.Empty;
    }

    private static FileStream Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new DataException($"{path}: file not found.", ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new DataException($"{path}: cannot open: {ex.Message}", ex);
        }
    }

    private static void ReadExactly(FileStream stream, Span<byte> buffer, string path)
    {
        try
        {
            stream.ReadExactly(buffer);
        }
        catch (EndOfStreamException ex)
        {
            throw new DataException($"{path}: the file ended early while reading (did it change while being read?).", ex);
        }
    }

    private static DataException Error(string path, string problem) => new($"{path}: {problem}.");
}
