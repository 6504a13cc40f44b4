using System.Formats.Tar;
using System.IO;
using System.IO.Compression;
using System.Text;

namespace Flora.Data.Tests;

/// <summary>A temporary directory deleted on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "flora-data-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Writes the small files the data tests read.</summary>
internal static class DataFixtures
{
    /// <summary>The pixel value the fixtures put at (image, pixel); the first two pixels make images 0..65535 distinct.</summary>
    public static byte Pixel(int image, int pixel) => pixel switch
    {
        0 => (byte)(image & 0xFF),
        1 => (byte)((image >> 8) & 0xFF),
        _ => (byte)(((image * 31) + (pixel * 7)) % 256),
    };

    /// <summary>Pixels of <paramref name="count"/> 28 × 28 images following <see cref="Pixel"/>.</summary>
    public static byte[] Pixels(int count, int firstImage = 0)
    {
        var pixels = new byte[count * 784];
        for (int i = 0; i < count; i++)
        {
            for (int p = 0; p < 784; p++)
            {
                pixels[(i * 784) + p] = Pixel(firstImage + i, p);
            }
        }

        return pixels;
    }

    /// <summary>A Fashion-MNIST class file as one line: {"data":[[...],...]} with rows following <see cref="Pixel"/>.</summary>
    public static string FashionJson(int rows, int firstImage = 0, int emptyRowsAfter = -1, int emptyRows = 0)
    {
        var text = new StringBuilder("{\"data\":[");
        for (int r = 0; r < rows; r++)
        {
            if (r > 0)
            {
                text.Append(',');
            }

            AppendRow(text, firstImage + r);
            if (r == emptyRowsAfter)
            {
                for (int e = 0; e < emptyRows; e++)
                {
                    text.Append(",[]");
                }
            }
        }

        return text.Append("]}").ToString();
    }

    public static void AppendRow(StringBuilder text, int image, int length = 784)
    {
        text.Append('[');
        for (int p = 0; p < length; p++)
        {
            if (p > 0)
            {
                text.Append(',');
            }

            text.Append(Pixel(image, p % 784));
        }

        text.Append(']');
    }

    /// <summary>A .tgz with the given files (paths use '/'), as npm pack writes it.</summary>
    public static void WriteTgz(string path, IReadOnlyDictionary<string, byte[]> files)
    {
        using FileStream file = System.IO.File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        using var tar = new TarWriter(gzip, TarEntryFormat.Pax, leaveOpen: false);
        foreach ((string name, byte[] content) in files)
        {
            var entry = new PaxTarEntry(TarEntryType.RegularFile, name)
            {
                DataStream = new MemoryStream(content),
            };
            tar.WriteEntry(entry);
        }
    }

    /// <summary>Writes an executable bash script.</summary>
    public static void WriteScript(string path, string body)
    {
        System.IO.File.WriteAllText(path, "#!/usr/bin/env bash\n" + body.Replace("\r\n", "\n"));
        if (!OperatingSystem.IsWindows())
        {
            System.IO.File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }
}
