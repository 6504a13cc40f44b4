using System;
using System.IO;
using System.Text;

namespace Flora;

/// <summary>
/// Writes a file through a temporary file in the same folder, flushed to disk, then a rename over the target: a reader
/// (or an interrupted writer) sees the old file or the complete new one, never half of one. Adapter files, and the
/// CLI's results, reports and plots (<see cref="WriteAllText"/>, <see cref="WriteAllBytes"/>), are written this way; a PEFT
/// directory's files are written together through a temporary folder (<see cref="WriteDirectory"/>).
/// </summary>
internal static class AtomicFile
{
    private static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>Writes <paramref name="contents"/> as UTF-8 (no BOM), replacing the file atomically; creates the folder.</summary>
    public static void WriteAllText(string path, string contents)
    {
        ArgumentNullException.ThrowIfNull(contents);
        WriteAllBytes(path, Utf8NoBom.GetBytes(contents));
    }

    /// <summary>Writes <paramref name="bytes"/>, replacing the file atomically; creates the folder.</summary>
    public static void WriteAllBytes(string path, byte[] bytes)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(bytes);
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full) ?? throw new ArgumentException($"'{path}' has no folder.", nameof(path)));
        Write(full, stream => stream.Write(bytes));
    }

    /// <summary>
    /// Writes <paramref name="path"/> with <paramref name="write"/> (given the temporary file's stream); the temporary
    /// file is removed when anything fails. The folder must exist (a <see cref="DirectoryNotFoundException"/> otherwise).
    /// </summary>
    public static void Write(string path, Action<Stream> write, int bufferSize = 1 << 16)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.GetFullPath(path);
        string temporary = TemporarySibling(full);
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, full, overwrite: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    /// <summary>
    /// Writes the files that <paramref name="write"/> puts into the folder it is given (a temporary sibling of
    /// <paramref name="directory"/>), then moves them into <paramref name="directory"/>: a new folder appears whole by one
    /// rename; in an existing one each file is replaced by a rename and other files stay. The temporary folder is removed
    /// when anything fails, leaving <paramref name="directory"/> as it was.
    /// </summary>
    public static void WriteDirectory(string directory, Action<string> write)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentNullException.ThrowIfNull(write);
        string target = Path.GetFullPath(directory).TrimEnd(Path.DirectorySeparatorChar);
        Directory.CreateDirectory(Path.GetDirectoryName(target) ?? throw new ArgumentException($"'{directory}' has no parent directory.", nameof(directory)));
        string temporary = TemporarySibling(target);
        Directory.CreateDirectory(temporary);
        try
        {
            write(temporary);
            if (!Directory.Exists(target))
            {
                Directory.Move(temporary, target);
                return;
            }
            foreach (string file in Directory.GetFiles(temporary))
                File.Move(file, Path.Combine(target, Path.GetFileName(file)), overwrite: true);
            Directory.Delete(temporary, recursive: true);
        }
        catch
        {
            if (Directory.Exists(temporary)) Directory.Delete(temporary, recursive: true);
            throw;
        }
    }

    /// <summary>A hidden name beside <paramref name="fullPath"/> that no other writer uses.</summary>
    private static string TemporarySibling(string fullPath) =>
        Path.Combine(Path.GetDirectoryName(fullPath) ?? "", $".{Path.GetFileName(fullPath)}.tmp-{Guid.NewGuid():N}");

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
}
