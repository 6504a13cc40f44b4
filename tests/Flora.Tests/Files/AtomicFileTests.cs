using System.IO;

namespace Flora.Tests.Files;

public sealed class AtomicFileTests
{
    [Fact]
    public void WritesReplaceTheFileAndLeaveNoTemporaryFiles()
    {
        string directory = Directory.CreateTempSubdirectory("flora-atomic-").FullName;
        string path = Path.Combine(directory, "nested", "results.md");

        AtomicFile.WriteAllText(path, "first");
        AtomicFile.WriteAllText(path, "second, longer than the first");
        AtomicFile.WriteAllBytes(Path.Combine(directory, "nested", "bytes.bin"), new byte[] { 1, 2, 3 });

        Assert.Equal("second, longer than the first", File.ReadAllText(path));
        Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(Path.Combine(directory, "nested", "bytes.bin")));
        Assert.Equal(["bytes.bin", "results.md"], Directory.GetFiles(Path.Combine(directory, "nested")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public void TextIsUtf8WithoutByteOrderMark()
    {
        string directory = Directory.CreateTempSubdirectory("flora-atomic-").FullName;
        string path = Path.Combine(directory, "a.md");
        AtomicFile.WriteAllText(path, "± −");
        Assert.Equal(new byte[] { 0xC2, 0xB1, 0x20, 0xE2, 0x88, 0x92 }, File.ReadAllBytes(path));
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public void AFailedWriteLeavesNoTemporaryFileBehind()
    {
        string directory = Directory.CreateTempSubdirectory("flora-atomic-").FullName;
        string blocker = Path.Combine(directory, "results.md");
        Directory.CreateDirectory(blocker); // a folder where the file should go: the final rename fails

        Assert.ThrowsAny<Exception>(() => AtomicFile.WriteAllText(blocker, "text"));

        Assert.Empty(Directory.GetFiles(directory));
        Assert.Equal([blocker], Directory.GetDirectories(directory));
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public void ADirectoryIsWrittenWholeAndReplacesOnlyItsOwnFilesInAnExistingOne()
    {
        string root = Directory.CreateTempSubdirectory("flora-atomic-").FullName;
        string target = Path.Combine(root, "adapter");

        AtomicFile.WriteDirectory(target, folder =>
        {
            File.WriteAllText(Path.Combine(folder, "a.json"), "first");
            File.WriteAllText(Path.Combine(folder, "b.bin"), "weights");
        });
        File.WriteAllText(Path.Combine(target, "README.md"), "the user's own file");
        AtomicFile.WriteDirectory(target, folder => File.WriteAllText(Path.Combine(folder, "a.json"), "second"));

        Assert.Equal(("second", "weights", "the user's own file"),
            (File.ReadAllText(Path.Combine(target, "a.json")), File.ReadAllText(Path.Combine(target, "b.bin")), File.ReadAllText(Path.Combine(target, "README.md"))));
        Assert.Equal([target], Directory.GetDirectories(root));
        Directory.Delete(root, recursive: true);
    }

    [Fact]
    public void AFailedDirectoryWriteLeavesTheDirectoryAsItWasAndNoTemporaryFolder()
    {
        string root = Directory.CreateTempSubdirectory("flora-atomic-").FullName;
        string target = Path.Combine(root, "adapter");
        AtomicFile.WriteDirectory(target, folder => File.WriteAllText(Path.Combine(folder, "a.json"), "kept"));

        var error = Assert.Throws<InvalidOperationException>(() => AtomicFile.WriteDirectory(target, folder =>
        {
            File.WriteAllText(Path.Combine(folder, "a.json"), "half-written");
            throw new InvalidOperationException("the writer failed");
        }));

        Assert.Equal("the writer failed", error.Message);
        Assert.Equal("kept", File.ReadAllText(Path.Combine(target, "a.json")));
        Assert.Equal([target], Directory.GetDirectories(root));
        Directory.Delete(root, recursive: true);
    }
}
