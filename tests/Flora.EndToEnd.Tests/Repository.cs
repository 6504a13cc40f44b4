using System.IO;

namespace Flora.EndToEnd.Tests;

/// <summary>The repository these tests run from.</summary>
internal static class Repository
{
    /// <summary>The folder holding Flora.Generated.sln, above the test's output folder.</summary>
    public static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Flora.Generated.sln"))) return dir.FullName;
        throw new InvalidOperationException("the repository root (Flora.Generated.sln) is not above " + AppContext.BaseDirectory);
    }
}
