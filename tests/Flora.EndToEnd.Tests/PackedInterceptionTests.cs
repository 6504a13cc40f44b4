using System.Diagnostics;
using System.IO;
using System.Reflection;
using System.Runtime.Loader;

namespace Flora.EndToEnd.Tests;

/// <summary>
/// Issue 17 through the packed artefact: `dotnet pack` the Flora package, build a small user project from the .nupkg
/// (a local package source; its buildTransitive/Flora.targets sets InterceptorsNamespaces and the compiler-visible
/// FloraInterceptForward), then run it. A model that calls its targets with forward(x) — dense and depthwise Conv2d,
/// Linear, Conv1d, Conv3d; fields and properties; the model nested in a class and a call from a nested type — must
/// train every adapter, merge, save and load exactly as the same model written with call(x). With the opt-out the
/// generator emits no interceptors and FLORA010 warns on each call.
/// </summary>
[Collection(GlobalSeedCollection.Name)]
public sealed class PackedInterceptionTests : IDisposable
{
#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif
    private readonly string _dir = Directory.CreateTempSubdirectory("flora-intercept-").FullName;
    private readonly string _version = "0.1.0-e2e." + Guid.NewGuid().ToString("N")[..12];

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { } // the loaded user assembly may keep its file open; the temp folder goes with the machine
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>The model, with {NAME} and {INVOKE} (forward or call) filled in: identical but for how it calls its targets.</summary>
    private const string ModelTemplate = """
        using System.Collections.Generic;
        using System.Linq;
        using Flora;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;
        using static TorchSharp.torch.nn;

        namespace UserModels;

        public static partial class Zoo
        {
            [FloraModel(Rank = 4, R3 = 2)]
            public partial class {NAME} : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Conv2d stem = Conv2d(3, 8, 3, padding: 1);
                [FloraTarget] private readonly Conv2d dw = Conv2d(8, 8, 3, padding: 1, groups: 8);
                [FloraTarget] public Conv1d Seq { get; } = Conv1d(8, 8, 3, padding: 1);
                [FloraTarget] private readonly Conv3d vol = Conv3d(1, 2, 3, padding: 1);
                [FloraTarget] public Linear Head { get; } = Linear(8, 5);

                public {NAME}() : base(nameof({NAME})) => RegisterComponents();

                public override Tensor forward(Tensor x)
                {
                    var h = functional.relu(this.stem.{INVOKE}(x));
                    h = dw.{INVOKE}(h);
                    var s = Seq.{INVOKE}(h.mean(new long[] { 3 }));
                    var v = vol.{INVOKE}(x.narrow(1, 0, 1).unsqueeze(1)).mean(new long[] { 1, 2, 3, 4 });
                    return Tail.Run(this, s.mean(new long[] { 2 })) + v.unsqueeze(1);
                }

                private static class Tail
                {
                    public static Tensor Run({NAME} net, Tensor t) => net.Head.{INVOKE}(t);
                }

                /// <summary>Attach, two training steps, merge, save, load into a fresh model: every tensor to compare.</summary>
                public static Dictionary<string, float[]> Scenario(string file)
                {
                    var results = new Dictionary<string, float[]>();
                    torch.manual_seed(7);
                    var model = new {NAME}();
                    model.AttachFlora();
                    torch.manual_seed(11);
                    var x = torch.randn(2, 3, 6, 6);
                    var parameters = model.FloraParameters().ToList();
                    var optimizer = torch.optim.AdamW(parameters, lr: 0.05);
                    for (int step = 0; step < 2; step++)
                    {
                        optimizer.zero_grad();
                        var y = model.forward(x);
                        y.square().sum().backward();
                        results["out" + step] = Values(y);
                        for (int i = 0; i < parameters.Count; i++) results["grad" + step + "." + i] = Values(parameters[i].grad!);
                        optimizer.step();
                    }
                    using (torch.no_grad())
                    {
                        var trained = model.forward(x);
                        results["trained"] = Values(trained);
                        model.MergeFlora();
                        results["merged"] = Values(model.forward(x));
                        model.UnmergeFlora();
                        model.SaveFlora(file);
                        torch.manual_seed(7);
                        var fresh = new {NAME}();
                        fresh.AttachFlora();
                        fresh.LoadFlora(file);
                        results["loaded"] = Values(fresh.forward(x));
                    }
                    return results;
                }

                private static float[] Values(Tensor t) => t.detach().contiguous().data<float>().ToArray();
            }
        }
        """;

    private static string Project(string version) => $"""
        <Project Sdk="Microsoft.NET.Sdk">
          <PropertyGroup>
            <TargetFramework>net10.0</TargetFramework>
            <Nullable>enable</Nullable>
            <ImplicitUsings>disable</ImplicitUsings>
            <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
            <EmitCompilerGeneratedFiles>true</EmitCompilerGeneratedFiles>
            <AssemblyName>UserModels</AssemblyName>
          </PropertyGroup>
          <ItemGroup>
            <PackageReference Include="Flora" Version="{version}" />
          </ItemGroup>
        </Project>
        """;

    [Fact]
    public void Forward_calls_train_merge_save_and_load_like_call_through_the_packed_package_and_the_opt_out_warns()
    {
        string root = RepositoryRoot();
        string feed = Path.Combine(_dir, "feed"), packages = Path.Combine(_dir, "packages");
        Run(root, $"pack src/Flora/Flora.csproj --no-build -c {Configuration} -o \"{feed}\" -p:PackageVersion={_version} -p:NoWarn=NU5104");

        // Interception on (the package's default), warnings as errors: a clean build with one interceptors file per model.
        string on = WriteProject("on");
        Run(on, Build(feed, packages));
        var generated = Directory.GetFiles(Path.Combine(on, "obj"), "*.g.cs", SearchOption.AllDirectories).Select(Path.GetFileName).ToList();
        Assert.Contains("UserModels.Zoo.ForwardNet.Flora.Interceptors.g.cs", generated);
        Assert.Contains("UserModels.Zoo.CallNet.Flora.Interceptors.g.cs", generated); // call(x) goes straight to the adapter too

        var assembly = AssemblyLoadContext.Default.LoadFromAssemblyPath(Path.Combine(on, "bin", "Release", "net10.0", "UserModels.dll"));
        var viaForward = Scenario(assembly, "ForwardNet");
        var viaCall = Scenario(assembly, "CallNet");
        Assert.Equal(viaCall.Keys.OrderBy(k => k), viaForward.Keys.OrderBy(k => k));
        foreach (var (key, expected) in viaCall)
        {
            var actual = viaForward[key];
            Assert.Equal(expected.Length, actual.Length);
            for (int i = 0; i < expected.Length; i++)
                Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-6f * (1 + Math.Abs(expected[i])), $"{key}[{i}]: call {expected[i]} forward {actual[i]}");
        }
        // 5 targets: the cores and a factor per mode (Linear 2, Conv1d 3, Conv2d 4 twice, Conv3d 5) = 5 + 18 tensors.
        var secondStep = viaForward.Keys.Where(k => k.StartsWith("grad1.", StringComparison.Ordinal)).ToList();
        Assert.Equal(23, secondStep.Count);
        Assert.All(secondStep, k => Assert.True(viaForward[k].Any(v => v != 0), $"{k} has a zero gradient: its adapter does not train"));
        AssertClose(viaForward["trained"], viaForward["merged"], 1e-4f);
        AssertClose(viaForward["trained"], viaForward["loaded"], 1e-6f);
        Assert.NotEqual(viaForward["out0"], viaForward["trained"]); // training moved the output

        // Opt-out: no interceptors; FLORA010 says why on each of ForwardNet's five forward calls.
        string off = WriteProject("off");
        string output = Run(off, Build(feed, packages) + " -p:FloraInterceptForward=false -p:TreatWarningsAsErrors=false");
        Assert.Empty(Directory.GetFiles(Path.Combine(off, "obj"), "*.Flora.Interceptors.g.cs", SearchOption.AllDirectories));
        var warnings = output.Split('\n').Where(l => l.Contains("warning FLORA010", StringComparison.Ordinal)).Select(l => l.Trim()).Distinct().ToList();
        Assert.Equal(5, warnings.Count);
        Assert.All(warnings, w => Assert.Contains("interception is off in this project (FloraInterceptForward is false)", w));
    }

    private static void AssertClose(float[] expected, float[] actual, float tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * (1 + Math.Abs(expected[i])), $"[{i}]: {expected[i]} vs {actual[i]}");
    }

    private Dictionary<string, float[]> Scenario(Assembly assembly, string model)
    {
        var type = assembly.GetType("UserModels.Zoo+" + model, throwOnError: true)!;
        var method = type.GetMethod("Scenario", BindingFlags.Public | BindingFlags.Static)!;
        return (Dictionary<string, float[]>)method.Invoke(null, new object[] { Path.Combine(_dir, model + ".flora.safetensors") })!;
    }

    private string WriteProject(string name)
    {
        string dir = Path.Combine(_dir, name);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "UserModels.csproj"), Project(_version));
        File.WriteAllText(Path.Combine(dir, "ForwardNet.cs"), ModelTemplate.Replace("{NAME}", "ForwardNet").Replace("{INVOKE}", "forward"));
        File.WriteAllText(Path.Combine(dir, "CallNet.cs"), ModelTemplate.Replace("{NAME}", "CallNet").Replace("{INVOKE}", "call"));
        return dir;
    }

    /// <summary>
    /// Restores from the packed feed only, into a fresh packages folder, with the machine's global packages folder as a
    /// read-only fallback for TorchSharp and its dependencies (no network, no stale Flora from the cache).
    /// </summary>
    private static string Build(string feed, string packages)
    {
        string global = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                        ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        return $"build -c Release -nologo -p:RestoreSources=\"{feed}\" -p:RestorePackagesPath=\"{packages}\" -p:RestoreFallbackFolders=\"{global}\"";
    }

    private static string Run(string workingDirectory, string arguments)
    {
        var start = new ProcessStartInfo("dotnet", arguments)
        {
            WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        start.Environment["MSBUILDTERMINALLOGGER"] = "off";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd() + stderr.Result;
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"dotnet {arguments}\n{output}");
        return output;
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Flora.Generated.sln"))) return dir.FullName;
        throw new InvalidOperationException("the repository root (Flora.Generated.sln) is not above " + AppContext.BaseDirectory);
    }
}
