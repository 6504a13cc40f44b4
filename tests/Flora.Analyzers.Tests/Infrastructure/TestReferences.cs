using System.IO;
using Microsoft.CodeAnalysis.CSharp;

namespace Flora.Analyzers.Tests.Infrastructure;

/// <summary>
/// What every test compilation references: the net10.0 reference assemblies of the installed SDK, TorchSharp.dll and
/// Flora.dll; and what a model file usually starts with (the usings of README's example).
/// </summary>
internal static class TestReferences
{
    /// <summary>The usings of a model file; the helpers put them before every test source.</summary>
    public const string Header = """
        using Flora;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;
        using static TorchSharp.torch.nn;

        """;

    /// <summary>
    /// No package for the testing library to resolve: its default (and <c>ReferenceAssemblies.Net.Net80</c>) downloads a
    /// reference pack from NuGet on first use, and net8.0 reference assemblies cannot compile against Flora.dll, which is
    /// built for net10.0 (CS1705). The net10.0 pack installed with the SDK comes in through <see cref="All"/> instead.
    /// </summary>
    public static ReferenceAssemblies ReferenceAssemblies { get; } = new("net10.0");

    /// <summary>TorchSharp.dll and Flora.dll, the assemblies a user's model compiles against.</summary>
    public static ImmutableArray<MetadataReference> Libraries { get; } = ImmutableArray.Create<MetadataReference>(
        MetadataReference.CreateFromFile(typeof(TorchSharp.torch).Assembly.Location),
        MetadataReference.CreateFromFile(typeof(FloraModelAttribute).Assembly.Location));

    /// <summary>The installed net10.0 reference pack's assemblies.</summary>
    public static ImmutableArray<MetadataReference> Framework { get; } = LoadReferencePack();

    /// <summary>Every reference of a test compilation: the framework and the libraries.</summary>
    public static ImmutableArray<MetadataReference> All { get; } = Framework.AddRange(Libraries);

    public static CSharpParseOptions ParseOptions { get; } = new(LanguageVersion.Latest);

    public static CSharpCompilationOptions CompilationOptions { get; } =
        new(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable);

    /// <summary>A compilation of <paramref name="sources"/>, each prefixed with <see cref="Header"/>, with every reference.</summary>
    public static CSharpCompilation Compile(params string[] sources) => CompileRaw(sources.Select(s => Header + s).ToArray());

    /// <summary>A compilation of <paramref name="sources"/> exactly as given.</summary>
    public static CSharpCompilation CompileRaw(params string[] sources) =>
        CSharpCompilation.Create(
            "Flora.Analyzers.TestInput",
            sources.Select((s, i) => CSharpSyntaxTree.ParseText(s, ParseOptions, $"/0/Test{i}.cs")),
            All,
            CompilationOptions);

    /// <summary>
    /// <c>{dotnet}/packs/Microsoft.NETCore.App.Ref/{version}/ref/net10.0/*.dll</c>, where <c>{dotnet}</c> is the installation
    /// that runs the tests and <c>{version}</c> the running runtime's, or else the newest 10.0 pack there.
    /// </summary>
    private static ImmutableArray<MetadataReference> LoadReferencePack()
    {
        // {dotnet}/shared/Microsoft.NETCore.App/{version}/System.Private.CoreLib.dll
        string runtimeDirectory = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        string dotnet = Path.GetFullPath(Path.Combine(runtimeDirectory, "..", "..", ".."));
        string packs = Path.Combine(dotnet, "packs", "Microsoft.NETCore.App.Ref");
        if (!Directory.Exists(packs))
            throw new InvalidOperationException($"No reference packs at {packs}: the tests need the .NET 10 SDK's Microsoft.NETCore.App.Ref pack.");
        string running = Path.GetFileName(runtimeDirectory);
        string? version = Directory.Exists(Path.Combine(packs, running, "ref", "net10.0"))
            ? running
            : Directory.GetDirectories(packs)
                .Select(Path.GetFileName)
                .OfType<string>()
                .Where(v => v.StartsWith("10.", StringComparison.Ordinal) && Directory.Exists(Path.Combine(packs, v, "ref", "net10.0")))
                .OrderBy(v => Version.TryParse(v.Split('-')[0], out var parsed) ? parsed : new Version())
                .LastOrDefault();
        if (version is null)
            throw new InvalidOperationException($"No net10.0 reference pack under {packs}.");
        return Directory.GetFiles(Path.Combine(packs, version, "ref", "net10.0"), "*.dll")
            .OrderBy(f => f, StringComparer.Ordinal)
            .Select(f => (MetadataReference)MetadataReference.CreateFromFile(f))
            .ToImmutableArray();
    }
}
