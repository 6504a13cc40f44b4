using System.Diagnostics;
using System.IO;
using System.IO.Compression;
using System.Xml.Linq;

namespace Flora.EndToEnd.Tests;

/// <summary>
/// `dotnet pack src/Flora/Flora.csproj` gives one package with the runtime, the generator and the build step, its readme,
/// licence and docs.
/// </summary>
public sealed class PackageLayoutTests : IDisposable
{
#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif
    private readonly string _dir = Directory.CreateTempSubdirectory("flora-pack-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void The_package_holds_runtime_generator_build_step_readme_licence_and_docs_and_depends_only_on_TorchSharp()
    {
        string root = Repository.Root();
        // --no-build packs what the test run already built, so it never races the build of other test projects.
        var start = new ProcessStartInfo("dotnet", $"pack src/Flora/Flora.csproj --no-build -c {Configuration} -o \"{_dir}\" -p:NoWarn=NU5104")
        {
            WorkingDirectory = root, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, output);

        string package = Directory.GetFiles(_dir, "Flora.*.nupkg").Single();
        using var zip = ZipFile.OpenRead(package);
        var entries = zip.Entries.Select(e => e.FullName).ToHashSet();
        Assert.Contains("lib/net10.0/Flora.dll", entries);
        Assert.Contains("lib/net10.0/Flora.xml", entries);
        Assert.Contains("analyzers/dotnet/cs/Flora.Generators.dll", entries);
        Assert.Contains("analyzers/dotnet/cs/Flora.Analyzers.dll", entries);
        Assert.Contains("analyzers/dotnet/cs/Flora.Analyzers.CodeFixes.dll", entries);
        Assert.Contains("buildTransitive/Flora.targets", entries);
        Assert.Contains("buildTransitive/FloraElfVersionPatcher.cs", entries);
        Assert.DoesNotContain(entries, e => e.StartsWith("lib/", StringComparison.Ordinal) && e.Contains("Generators"));

        // What a user reads: the readme, the licence, and the docs the analyzers' help links and the readme point at,
        // each the repository's own file.
        foreach (var (entry, file) in new[]
                 {
                     ("README.md", "README.md"), ("LICENSE", "LICENSE"),
                     ("docs/DIAGNOSTICS.md", "docs/DIAGNOSTICS.md"), ("docs/API.md", "docs/API.md"),
                 })
        {
            Assert.Contains(entry, entries);
            using var reader = new StreamReader(zip.GetEntry(entry)!.Open());
            Assert.True(reader.ReadToEnd() == File.ReadAllText(Path.Combine(root, file)), $"{entry} in the package is not the repository's {file}");
        }

        using var nuspecStream = zip.Entries.Single(e => e.FullName == "Flora.nuspec").Open();
        var nuspec = XDocument.Load(nuspecStream);
        var dependencies = nuspec.Descendants().Where(e => e.Name.LocalName == "dependency").Select(e => (string)e.Attribute("id")!).ToList();
        Assert.Equal(new[] { "TorchSharp" }, dependencies);
        Assert.Equal("Flora", nuspec.Descendants().Single(e => e.Name.LocalName == "id").Value);
        Assert.Equal("README.md", nuspec.Descendants().Single(e => e.Name.LocalName == "readme").Value);
        var license = nuspec.Descendants().Single(e => e.Name.LocalName == "license");
        Assert.Equal(("expression", "MIT"), ((string?)license.Attribute("type"), license.Value));
        Assert.StartsWith("MIT License", File.ReadAllText(Path.Combine(root, "LICENSE")), StringComparison.Ordinal);
        // No invented project or repository address: the repository has no public URL.
        Assert.DoesNotContain(nuspec.Descendants(), e => e.Name.LocalName == "projectUrl");
        Assert.Null(nuspec.Descendants().SingleOrDefault(e => e.Name.LocalName == "repository")?.Attribute("url"));
    }
}
