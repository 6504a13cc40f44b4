using System.IO;
using Flora.Build;

namespace Flora.Tests.Build;

/// <summary>The build step that lets TorchSharp's native bridge load on distributions with an older libstdc++.</summary>
public class ElfPatcherTests
{
    private static readonly string[] Versions = { "GLIBCXX_3.4.32" };
    private static readonly string[] Allowed = { "_ZSt21ios_base_library_initv" };

    /// <summary>The library as NuGet ships it (the build never modifies the package cache).</summary>
    private static string ShippedLibrary()
    {
        string packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                          ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        return Directory.GetFiles(Path.Combine(packages, "torchsharp"), "libLibTorchSharp.so", SearchOption.AllDirectories)
            .Single(p => p.Contains("0.107.0") && p.Contains("linux-x64"));
    }

    private static string OutputLibrary() =>
        Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    [Fact]
    public void The_shipped_library_needs_the_version_and_patching_weakens_it_once()
    {
        byte[] bytes = File.ReadAllBytes(ShippedLibrary());
        byte[] original = (byte[])bytes.Clone();

        var first = ElfVersionPatcher.Patch(bytes, Versions, Allowed);
        Assert.Equal(ElfPatchOutcome.Patched, first.Outcome);
        int changed = bytes.Zip(original).Count(p => p.First != p.Second);
        Assert.InRange(changed, 2, 4); // one Vernaux flag byte and one symbol binding byte (plus possibly a high byte)

        var second = ElfVersionPatcher.Patch(bytes, Versions, Allowed);
        Assert.Equal(ElfPatchOutcome.AlreadyPatched, second.Outcome);
    }

    [Fact]
    public void The_build_patched_the_output_copy_and_left_the_package_cache_alone()
    {
        byte[] output = File.ReadAllBytes(OutputLibrary());
        Assert.Equal(ElfPatchOutcome.AlreadyPatched, ElfVersionPatcher.Patch(output, Versions, Allowed).Outcome);
        byte[] shipped = File.ReadAllBytes(ShippedLibrary());
        Assert.Equal(ElfPatchOutcome.Patched, ElfVersionPatcher.Patch(shipped, Versions, Allowed).Outcome);
    }

    [Fact]
    public void A_symbol_outside_the_allowed_list_makes_the_patch_unsafe()
    {
        byte[] bytes = File.ReadAllBytes(ShippedLibrary());
        byte[] original = (byte[])bytes.Clone();
        var result = ElfVersionPatcher.Patch(bytes, Versions, Array.Empty<string>());
        Assert.Equal(ElfPatchOutcome.Unsafe, result.Outcome);
        Assert.Contains("_ZSt21ios_base_library_initv", result.Message);
        Assert.Equal(original, bytes);
    }

    [Fact]
    public void A_version_the_library_does_not_need_changes_nothing()
    {
        byte[] bytes = File.ReadAllBytes(ShippedLibrary());
        Assert.Equal(ElfPatchOutcome.NotNeeded, ElfVersionPatcher.Patch(bytes, new[] { "GLIBCXX_9.9.99" }, Allowed).Outcome);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(16)]
    [InlineData(4096)]
    public void Files_that_are_not_elf_or_are_truncated_are_left_alone(int length)
    {
        var bytes = new byte[length];
        Assert.Equal(ElfPatchOutcome.Unsupported, ElfVersionPatcher.Patch(bytes, Versions, Allowed).Outcome);
        byte[] truncated = File.ReadAllBytes(ShippedLibrary()).Take(4096).ToArray();
        Assert.Equal(ElfPatchOutcome.Unsupported, ElfVersionPatcher.Patch(truncated, Versions, Allowed).Outcome);
    }

    [Fact]
    public void PatchFile_rewrites_through_a_temporary_file_and_keeps_other_links_intact()
    {
        string dir = Directory.CreateTempSubdirectory("flora-elf-").FullName;
        try
        {
            string source = Path.Combine(dir, "source.so"), copy = Path.Combine(dir, "libLibTorchSharp.so");
            File.Copy(ShippedLibrary(), source);
            File.Copy(source, copy);
            Assert.Equal(ElfPatchOutcome.Patched, ElfVersionPatcher.PatchFile(copy, Versions, Allowed).Outcome);
            Assert.Equal(ElfPatchOutcome.AlreadyPatched, ElfVersionPatcher.PatchFile(copy, Versions, Allowed).Outcome);
            Assert.Equal(File.ReadAllBytes(ShippedLibrary()), File.ReadAllBytes(source));
            Assert.Equal(new[] { "libLibTorchSharp.so", "source.so" }, Directory.GetFiles(dir).Select(Path.GetFileName).Order());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
