using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.CompilerServices;
using System.Text;
using Flora.Testing;
using Xunit.Sdk;

namespace Flora.Generators.Tests.Infrastructure;

/// <summary>
/// A small verified-file helper (Verify is not available here): the text is compared with the committed
/// <c>Snapshots/{TestClass}.{TestName}.verified.cs</c> next to the calling test file. On a mismatch, or when that file is
/// missing, the text is written to <c>*.received.cs</c> beside it and the test fails with a diff. With the environment
/// variable <c>FLORA_ACCEPT_SNAPSHOTS=1</c> the verified file is overwritten instead and the test passes.
/// Line endings are normalised to <c>\n</c>; files are UTF-8 without a byte order mark.
/// </summary>
public static class Snapshots
{
    public const string AcceptVariable = VerifiedText.AcceptVariable;

    /// <summary>Compares <paramref name="actual"/> with the verified snapshot of the calling test.</summary>
    /// <param name="actual">The text to verify.</param>
    /// <param name="file">The calling test's source file (its name, without extension, names the test class).</param>
    /// <param name="name">The calling test's name.</param>
    public static void Verify(string actual, [CallerFilePath] string file = "", [CallerMemberName] string name = "")
    {
        string directory = Path.Combine(VerifiedText.TestDirectory(file, "Flora.Generators.Tests"), "Snapshots");
        string stem = Path.Combine(directory, Path.GetFileNameWithoutExtension(file) + "." + name);
        string verifiedPath = stem + ".verified.cs";
        string receivedPath = stem + ".received.cs";
        if (VerifiedText.Check(actual, verifiedPath, receivedPath) is not { } mismatch) return;
        throw new XunitException(mismatch.Verified is null
            ? $"No verified snapshot {verifiedPath}.\nReceived text written to {receivedPath}.\nAccept it with {AcceptVariable}=1 after reading it."
            : $"The text differs from {verifiedPath}.\nReceived text written to {receivedPath}; accept it with {AcceptVariable}=1.\n" + Diff(mismatch.Verified, mismatch.Received));
    }

    /// <summary>A unified diff (3 lines of context, at most 80 lines) of two texts, from their longest common subsequence.</summary>
    public static string Diff(string expected, string actual)
    {
        string[] a = expected.Split('\n'), b = actual.Split('\n');
        int n = a.Length, m = b.Length;
        var lcs = new int[n + 1, m + 1];
        for (int i = n - 1; i >= 0; i--)
            for (int j = m - 1; j >= 0; j--)
                lcs[i, j] = a[i] == b[j] ? lcs[i + 1, j + 1] + 1 : Math.Max(lcs[i + 1, j], lcs[i, j + 1]);

        // The edit script: (' ', line), ('-', line) or ('+', line), with each line's position in both texts.
        var script = new List<(char Op, string Line, int A, int B)>();
        int x = 0, y = 0;
        while (x < n || y < m)
        {
            if (x < n && y < m && a[x] == b[y]) { script.Add((' ', a[x], x, y)); x++; y++; }
            else if (x < n && (y == m || lcs[x + 1, y] >= lcs[x, y + 1])) { script.Add(('-', a[x], x, y)); x++; }
            else { script.Add(('+', b[y], x, y)); y++; }
        }

        var text = new StringBuilder("--- verified\n+++ received\n");
        int lines = 0;
        for (int k = 0; k < script.Count && lines < 80; k++)
        {
            if (script[k].Op == ' ') continue;
            int start = Math.Max(0, k - 3), end = k;
            // Extend the hunk while changes follow within 6 lines.
            for (int probe = k; probe < script.Count && probe <= end + 6; probe++)
                if (script[probe].Op != ' ') end = probe;
            end = Math.Min(script.Count - 1, end + 3);
            text.Append($"@@ -{script[start].A + 1} +{script[start].B + 1} @@\n");
            for (int h = start; h <= end && lines < 80; h++, lines++)
                text.Append(script[h].Op).Append(script[h].Line).Append('\n');
            k = end;
        }
        if (lines >= 80) text.Append("… (diff cut at 80 lines)\n");
        return text.ToString();
    }
}
