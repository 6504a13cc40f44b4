using System;
using System.IO;
using Flora.Generators.Tests.Infrastructure;
using Xunit;
using Xunit.Sdk;

namespace Flora.Generators.Tests;

/// <summary>The verified-file helper itself, on files in a temporary directory.</summary>
public sealed class SnapshotHelperTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flora-snapshots-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string TestFile => Path.Combine(_dir, "FakeTests.cs");
    private string Verified => Path.Combine(_dir, "Snapshots", "FakeTests.Case.verified.cs");
    private string Received => Path.Combine(_dir, "Snapshots", "FakeTests.Case.received.cs");
    private static bool Accepting => Environment.GetEnvironmentVariable(Snapshots.AcceptVariable) == "1";

    [Fact]
    public void A_missing_verified_file_fails_and_writes_the_received_text()
    {
        if (Accepting) return; // accepting writes the verified file instead: nothing to check here
        var error = Assert.Throws<XunitException>(() => Snapshots.Verify("line\n", TestFile, "Case"));
        Assert.Contains("No verified snapshot", error.Message);
        Assert.Equal("line\n", File.ReadAllText(Received));
        Assert.False(File.Exists(Verified));
    }

    [Fact]
    public void Equal_text_passes_whatever_the_line_endings_and_removes_a_stale_received_file()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Verified)!);
        File.WriteAllText(Verified, "\uFEFFa\r\nb\r\n");
        File.WriteAllText(Received, "stale");
        Snapshots.Verify("a\nb\n", TestFile, "Case");
        Snapshots.Verify("a\rb\r", TestFile, "Case");
        if (!Accepting) Assert.False(File.Exists(Received));
    }

    [Fact]
    public void A_mismatch_fails_with_a_diff()
    {
        if (Accepting) return;
        Directory.CreateDirectory(Path.GetDirectoryName(Verified)!);
        File.WriteAllText(Verified, "one\ntwo\nthree\nfour\n");
        var error = Assert.Throws<XunitException>(() => Snapshots.Verify("one\n2\nthree\nfour\nfive\n", TestFile, "Case"));
        Assert.Contains("-two\n+2\n", error.Message);
        Assert.Contains("+five\n", error.Message);
        Assert.Equal("one\n2\nthree\nfour\nfive\n", File.ReadAllText(Received));
        Assert.Equal("one\ntwo\nthree\nfour\n", File.ReadAllText(Verified));
    }

    [Fact]
    public void The_diff_shows_context_around_each_change()
    {
        string diff = Snapshots.Diff("a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk", "a\nb\nc\nd\ne\nF\ng\nh\ni\nj\nk");
        Assert.Equal("--- verified\n+++ received\n@@ -3 +3 @@\n c\n d\n e\n-f\n+F\n g\n h\n i\n", diff);
    }
}
