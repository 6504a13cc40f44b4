using System.IO;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace Flora.Data.Tests;

/// <summary>
/// The npm cache against fake <c>npm</c> scripts. All tests that start processes are in this one class, so they run
/// one after another.
/// </summary>
public sealed class NpmPackageCacheTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public NpmPackageCacheTests()
    {
        CacheDirectory = _temp.File("cache");
        Invocations = _temp.File("invocations.txt");
        Fixture = _temp.File("fixture.tgz");
    }

    private string CacheDirectory { get; }

    private string Invocations { get; }

    private string Fixture { get; }

    public void Dispose() => _temp.Dispose();

    private int InvocationCount => File.Exists(Invocations) ? File.ReadAllLines(Invocations).Length : 0;

    /// <summary>A fake npm that logs its arguments and, for "pack NAME@VERSION", copies the fixture to ./NAME-VERSION.tgz.</summary>
    private string FakeNpm(string extra = "")
    {
        string script = _temp.File("npm");
        DataFixtures.WriteScript(script, $$"""
            echo "$*" >> '{{Invocations}}'
            {{extra}}
            if [ "$1" != "pack" ]; then echo "fake npm: unexpected command $1" >&2; exit 2; fi
            spec="$2"
            name="${spec%@*}"
            version="${spec##*@}"
            cp '{{Fixture}}' "./$name-$version.tgz"
            echo "$name-$version.tgz"
            """);
        return script;
    }

    private void WriteFixture(string root = "package")
    {
        DataFixtures.WriteTgz(Fixture, new Dictionary<string, byte[]>
        {
            [$"{root}/package.json"] = Encoding.UTF8.GetBytes("{\"name\":\"fake-pkg\",\"version\":\"1.0.0\"}"),
            [$"{root}/data/numbers.bin"] = [1, 2, 3, 4],
        });
    }

    [Fact]
    public void TheFirstCallDownloadsAndExtractsTheSecondReusesWithoutNpm()
    {
        WriteFixture();
        var cache = new NpmPackageCache(CacheDirectory, FakeNpm());
        var log = new List<string>();

        string first = cache.EnsurePackage("fake-pkg", "1.0.0", new SynchronousProgress(log), "1 KB");

        Assert.Equal(Path.Combine(CacheDirectory, "fake-pkg-1.0.0", "package"), first);
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, File.ReadAllBytes(Path.Combine(first, "data", "numbers.bin")));
        Assert.True(File.Exists(Path.Combine(first, "package.json")));
        Assert.Equal(["pack fake-pkg@1.0.0"], File.ReadAllLines(Invocations));
        Assert.Contains($"Downloading npm package fake-pkg@1.0.0 (1 KB) into {CacheDirectory}", log[0]);
        Assert.True(cache.IsCached("fake-pkg", "1.0.0"));

        string second = cache.EnsurePackage("fake-pkg", "1.0.0", null);

        Assert.Equal(first, second);
        Assert.Equal(1, InvocationCount);
        // Nothing half-done is left in the cache: only the finished package folder.
        Assert.Equal([Path.Combine(CacheDirectory, "fake-pkg-1.0.0")], Directory.GetFileSystemEntries(CacheDirectory));
    }

    [Fact]
    public void AFailingNpmIsADataExceptionWithItsStderr()
    {
        string script = _temp.File("npm");
        DataFixtures.WriteScript(script, $"""
            echo "$*" >> '{Invocations}'
            echo "npm error code E404" >&2
            echo "npm error 404 Not Found - GET https://registry.npmjs.org/fake-pkg - Not found" >&2
            exit 1
            """);
        var cache = new NpmPackageCache(CacheDirectory, script);

        var error = Assert.Throws<DataException>(() => cache.EnsurePackage("fake-pkg", "1.0.0", null));

        Assert.Contains("exit code 1", error.Message);
        Assert.Contains("npm error 404 Not Found - GET https://registry.npmjs.org/fake-pkg", error.Message);
        Assert.Contains("fake-pkg@1.0.0", error.Message);
        Assert.False(cache.IsCached("fake-pkg", "1.0.0"));
        Assert.Empty(Directory.GetFileSystemEntries(CacheDirectory));
    }

    [Fact]
    public void AMissingNpmIsADataExceptionSayingToInstallNodeJs()
    {
        var cache = new NpmPackageCache(CacheDirectory, _temp.File("no-such-dir/npm"));

        var error = Assert.Throws<DataException>(() => cache.EnsurePackage("fake-pkg", "1.0.0", null));

        Assert.Contains("Install Node.js", error.Message);
        Assert.Contains("no such file", error.Message);
        Assert.Contains("make sure 'npm' is on PATH", error.Message);
        Assert.False(cache.IsCached("fake-pkg", "1.0.0"));
    }

    [Fact]
    public void AnNpmNotOnPathIsADataExceptionSayingToInstallNodeJs()
    {
        var cache = new NpmPackageCache(CacheDirectory, "flora-test-npm-that-is-not-installed");

        var error = Assert.Throws<DataException>(() => cache.EnsurePackage("fake-pkg", "1.0.0", null));

        Assert.Contains("'flora-test-npm-that-is-not-installed' (not found on PATH)", error.Message);
        Assert.Contains("Install Node.js", error.Message);
    }

    [Fact]
    public void LeftoversOfInterruptedRunsAreIgnoredAndOldOnesRemoved()
    {
        WriteFixture();
        string old = Path.Combine(CacheDirectory, ".partial-fake-pkg-1.0.0-old");
        string recent = Path.Combine(CacheDirectory, ".partial-fake-pkg-1.0.0-recent");
        Directory.CreateDirectory(Path.Combine(old, "staged", "package"));
        Directory.CreateDirectory(Path.Combine(recent, "staged", "package"));
        Directory.SetLastWriteTimeUtc(old, DateTime.UtcNow.AddDays(-2));
        var cache = new NpmPackageCache(CacheDirectory, FakeNpm());

        string package = cache.EnsurePackage("fake-pkg", "1.0.0", null);

        Assert.True(File.Exists(Path.Combine(package, "data", "numbers.bin")));
        Assert.False(Directory.Exists(old));
        Assert.True(Directory.Exists(recent)); // may belong to a run still in progress
        Assert.Equal(1, InvocationCount);
    }

    [Fact]
    public void AnAlreadyPresentPackageIsUsedOfflineWithoutNpm()
    {
        string package = Path.Combine(CacheDirectory, "fake-pkg-1.0.0", "package");
        Directory.CreateDirectory(package);
        var cache = new NpmPackageCache(CacheDirectory, _temp.File("no-such-npm"));

        Assert.Equal(package, cache.EnsurePackage("fake-pkg", "1.0.0", null));
    }

    [Fact]
    public void APackageFolderWithoutPackageInsideIsReported()
    {
        Directory.CreateDirectory(Path.Combine(CacheDirectory, "fake-pkg-1.0.0"));
        var cache = new NpmPackageCache(CacheDirectory, FakeNpm());

        var error = Assert.Throws<DataException>(() => cache.EnsurePackage("fake-pkg", "1.0.0", null));

        Assert.Contains("Delete it", error.Message);
        Assert.Equal(0, InvocationCount);
    }

    [Fact]
    public void ANpmThatWritesNoTarballIsReported()
    {
        string script = _temp.File("npm");
        DataFixtures.WriteScript(script, "echo done\n");
        var cache = new NpmPackageCache(CacheDirectory, script);

        var error = Assert.Throws<DataException>(() => cache.EnsurePackage("fake-pkg", "1.0.0", null));

        Assert.Contains("0 .tgz files", error.Message);
        Assert.Empty(Directory.GetFileSystemEntries(CacheDirectory));
    }

    [Fact]
    public void ACorruptTarballIsADataExceptionAndLeavesNothingBehind()
    {
        File.WriteAllBytes(Fixture, Encoding.ASCII.GetBytes("this is not a gzip file"));
        var cache = new NpmPackageCache(CacheDirectory, FakeNpm());

        var error = Assert.Throws<DataException>(() => cache.EnsurePackage("fake-pkg", "1.0.0", null));

        Assert.Contains("not a valid .tgz", error.Message);
        Assert.False(cache.IsCached("fake-pkg", "1.0.0"));
        Assert.Empty(Directory.GetFileSystemEntries(CacheDirectory));
    }

    [Fact]
    public void ATarballEntryOutsideTheFolderIsRefused()
    {
        DataFixtures.WriteTgz(Fixture, new Dictionary<string, byte[]>
        {
            ["package/ok.txt"] = [1],
            ["../../escaped.txt"] = [2],
        });
        var cache = new NpmPackageCache(CacheDirectory, FakeNpm());

        Assert.Throws<DataException>(() => cache.EnsurePackage("fake-pkg", "1.0.0", null));

        Assert.False(cache.IsCached("fake-pkg", "1.0.0"));
        Assert.False(File.Exists(Path.Combine(CacheDirectory, "escaped.txt")));
        Assert.False(File.Exists(Path.Combine(_temp.Path, "escaped.txt")));
    }

    [Fact]
    public void AnotherTopLevelFolderNameBecomesPackage()
    {
        WriteFixture(root: "fake-pkg");
        var cache = new NpmPackageCache(CacheDirectory, FakeNpm());

        string package = cache.EnsurePackage("fake-pkg", "1.0.0", null);

        Assert.True(File.Exists(Path.Combine(package, "data", "numbers.bin")));
    }

    [Fact]
    public async Task ConcurrentDownloadsOfTheSamePackageBothSucceed()
    {
        WriteFixture();
        var cache = new NpmPackageCache(CacheDirectory, FakeNpm(extra: "sleep 0.3"));
        using var start = new Barrier(2);

        string[] results = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            start.SignalAndWait();
            return cache.EnsurePackage("fake-pkg", "1.0.0", null);
        })));

        Assert.Equal(results[0], results[1]);
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, File.ReadAllBytes(Path.Combine(results[0], "data", "numbers.bin")));
        Assert.Equal([Path.Combine(CacheDirectory, "fake-pkg-1.0.0")], Directory.GetFileSystemEntries(CacheDirectory));
        Assert.InRange(InvocationCount, 1, 2);
    }

    [Fact]
    public void TheDefaultCacheDirectoryIsUnderTheHomeDirectory()
    {
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

        Assert.Equal(Path.Combine(home, ".cache", "flora"), NpmPackageCache.GetDefaultCacheDirectory());
        Assert.Equal(Path.Combine(home, ".cache", "flora"), new NpmPackageCache().CacheDirectory);
    }

    [Theory]
    [InlineData("../evil", "1.0.0")]
    [InlineData("name with space", "1.0.0")]
    [InlineData("ok", "../1")]
    [InlineData("ok", "1/2")]
    public void RejectsNamesThatWouldEscapeTheCache(string name, string version)
    {
        var cache = new NpmPackageCache(CacheDirectory, FakeNpm());

        Assert.Throws<ArgumentException>(() => cache.EnsurePackage(name, version, null));
        Assert.Equal(0, InvocationCount);
    }
}
