using System;
using System.IO;
using System.Text;

namespace Flora.Testing;

/// <summary>
/// The repository's verified-file convention, shared by the generator snapshots and the public-API pin (compiled into
/// both test projects): the text is compared with a committed verified file; on a mismatch, or when that file is
/// missing, the text is written to a received file beside it (git ignores it) and the caller fails the test with its own
/// diff. With the environment variable <c>FLORA_ACCEPT_SNAPSHOTS=1</c> the verified file is overwritten instead. Line
/// endings are normalised to <c>\n</c>; files are UTF-8 without a byte order mark.
/// </summary>
internal static class VerifiedText
{
    public const string AcceptVariable = "FLORA_ACCEPT_SNAPSHOTS";

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>Whether runs accept what they receive (<see cref="AcceptVariable"/> is 1).</summary>
    public static bool Accepting => Environment.GetEnvironmentVariable(AcceptVariable) == "1";

    /// <summary>
    /// Compares <paramref name="actual"/> with <paramref name="verifiedPath"/>: null when they agree (or the text was
    /// accepted), else the verified text (null when there is none) and the received text, which is then written to
    /// <paramref name="receivedPath"/>.
    /// </summary>
    public static Mismatch? Check(string actual, string verifiedPath, string receivedPath)
    {
        string received = Normalize(actual);
        if (Accepting)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(verifiedPath)!);
            File.WriteAllText(verifiedPath, received, Utf8);
            if (File.Exists(receivedPath)) File.Delete(receivedPath);
            return null;
        }
        string? verified = File.Exists(verifiedPath) ? Normalize(File.ReadAllText(verifiedPath)) : null;
        if (verified == received)
        {
            if (File.Exists(receivedPath)) File.Delete(receivedPath);
            return null;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(receivedPath)!);
        File.WriteAllText(receivedPath, received, Utf8);
        return new Mismatch(verified, received);
    }

    /// <summary><c>\r\n</c> and <c>\r</c> become <c>\n</c>; a byte order mark is dropped.</summary>
    public static string Normalize(string text) => text.TrimStart('\uFEFF').Replace("\r\n", "\n").Replace('\r', '\n');

    /// <summary>
    /// The directory of the calling test's source file <paramref name="file"/>; when the compiler's path does not exist
    /// here (a path-mapped build), the same folder of the test project <paramref name="project"/> found upward from the
    /// test assembly.
    /// </summary>
    public static string TestDirectory(string file, string project)
    {
        string? directory = Path.GetDirectoryName(file);
        if (!string.IsNullOrEmpty(directory) && Directory.Exists(directory)) return directory;
        string folder = Path.GetFileName(directory) ?? "";
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string root = Path.Combine(dir.FullName, "tests", project);
            if (!File.Exists(Path.Combine(root, project + ".csproj"))) continue;
            string candidate = Path.Combine(root, folder);
            return Directory.Exists(candidate) ? candidate : root;
        }
        throw new InvalidOperationException($"Cannot find the test's directory from '{file}' or '{AppContext.BaseDirectory}'.");
    }

    /// <summary>What differs: the committed text (null when there is none) and the received one.</summary>
    public sealed record Mismatch(string? Verified, string Received);
}
