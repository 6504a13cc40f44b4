using System.IO;
using System.Runtime.CompilerServices;
using System.Text;
using Flora.Testing;
using Xunit.Sdk;

namespace Flora.Tests.PublicApi;

/// <summary>
/// The repository's verified-file convention (<see cref="VerifiedText"/>) for a text file:
/// the text is compared with the committed <c>{name}.verified.txt</c> next to the calling test file. On a mismatch, or when
/// that file is missing, the text is written to <c>{name}.received.txt</c> beside it (git ignores it) and the test fails
/// with the lines that differ. With the environment variable <c>FLORA_ACCEPT_SNAPSHOTS=1</c> the verified file is
/// overwritten instead and the test passes. Line endings are normalised to <c>\n</c>; files are UTF-8 without a byte order mark.
/// </summary>
internal static class VerifiedFile
{
    /// <summary>Compares <paramref name="actual"/> with <c>{name}.verified.txt</c> beside the calling test's source file.</summary>
    public static void Verify(string actual, string name, [CallerFilePath] string file = "")
    {
        string directory = VerifiedText.TestDirectory(file, "Flora.Tests");
        string verifiedPath = Path.Combine(directory, name + ".verified.txt");
        string receivedPath = Path.Combine(directory, name + ".received.txt");
        if (VerifiedText.Check(actual, verifiedPath, receivedPath) is not { } mismatch) return;
        string accept = $"If the change is intended, update docs/API.md and accept it: {VerifiedText.AcceptVariable}=1 dotnet test tests/Flora.Tests --filter PublicApiTests " +
                        $"(or copy {receivedPath} over {verifiedPath}).";
        throw new XunitException(mismatch.Verified is null
            ? $"No verified file {verifiedPath}.\nReceived text written to {receivedPath}.\n{accept}"
            : $"The public API of Flora.dll differs from {verifiedPath}.\nReceived text written to {receivedPath}.\n{accept}\n" + Diff(mismatch.Verified, mismatch.Received));
    }

    /// <summary>
    /// The lines only one side has, each member line with its type's header line (the unindented line above it), removed
    /// ones first; at most 60.
    /// </summary>
    public static string Diff(string expected, string actual)
    {
        var before = Entries(expected);
        var after = Entries(actual);
        var lines = before.Except(after).Select(e => "- " + e).Concat(after.Except(before).Select(e => "+ " + e)).ToList();
        var text = new StringBuilder();
        foreach (var line in lines.Take(60)) text.Append(line).Append('\n');
        if (lines.Count > 60) text.Append($"… and {lines.Count - 60} more lines\n");
        return text.ToString();
    }

    private static List<string> Entries(string text)
    {
        var entries = new List<string>();
        string header = "";
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0) continue;
            if (line.StartsWith("  ", StringComparison.Ordinal)) entries.Add(header + "  ::  " + line.TrimStart());
            else entries.Add(header = line);
        }
        return entries;
    }

    /// <summary>The repository's root (the folder of Flora.Generated.sln), found upward from the calling test's source file or the test assembly.</summary>
    public static string RepositoryRoot([CallerFilePath] string file = "")
    {
        foreach (var start in new[] { Path.GetDirectoryName(file), AppContext.BaseDirectory })
        {
            for (var dir = string.IsNullOrEmpty(start) ? null : new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Flora.Generated.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException($"Cannot find Flora.Generated.sln above '{file}' or '{AppContext.BaseDirectory}'.");
    }
}
