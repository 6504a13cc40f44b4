using System.IO;
using Xunit.Abstractions;

namespace Flora.Tests.Peft;

/// <summary>
/// PEFT's multi-adapter directories (save_pretrained with several adapters: "default" at the root, every other adapter
/// in a sub-directory of its name): the one PEFT itself wrote (Fixtures/multi_lora_dora, tools/peft/make_fixtures.py)
/// loads with every adapter and PEFT's outputs; SavePeft writes that layout and it loads back (and, with
/// FLORA_PEFT_EXPORTS set, in PEFT: check_exports.py).
/// </summary>
public sealed class PeftMultiAdapterTests : IDisposable
{
    private const string Fixture = "multi_lora_dora";
    private readonly string _dir = Directory.CreateTempSubdirectory("flora-peft-multi-").FullName;
    private readonly ITestOutputHelper _log;

    public PeftMultiAdapterTests(ITestOutputHelper log) => _log = log;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string FixtureDirectory => Path.Combine(RuleResNet.RepositoryRoot(), "tests", "Flora.Tests", "Peft", "Fixtures", Fixture);

    private static Tensor Output(nn.Module<Tensor, Tensor> model, Tensor x)
    {
        using (torch.no_grad()) return model.forward(x);
    }

    /// <summary>Asserts the relative error is within <paramref name="bound"/> and logs it (docs/results/peft-interop quotes these).</summary>
    private void AssertClose(Tensor actual, Tensor expected, double bound, string what)
    {
        double error = RuleResNet.RelativeError(actual, expected);
        _log.WriteLine($"{what}: relative error {error:G3}");
        Assert.True(error <= bound, $"{what}: relative error {error:G3} exceeds {bound}");
    }

    [Fact]
    public void A_PEFT_made_multi_adapter_directory_loads_every_adapter_with_PEFTs_outputs()
    {
        using var model = RuleResNet.Create();
        var baseState = RuleResNet.Snapshot(model);
        var attachment = FloraInjector.AttachFromPeft(model, FixtureDirectory);
        Assert.Equal(new[] { "default", "task_b" }, attachment.AdapterNames);
        Assert.Equal(new[] { "default" }, attachment.ActiveAdapters);
        using var expected = Safetensors.Load(Path.Combine(FixtureDirectory, "expected_output.safetensors"));
        using var x = expected.Tensors["input"];
        using (var output = Output(model, x))
            AssertClose(output, expected.Tensors["output"], 1e-4, "'default' against PEFT's output");

        attachment.SetAdapter("task_b");
        Assert.Equal(FloraMethod.Dora, attachment.Method);
        Assert.Equal(new[] { "layer1.0.conv1" }, attachment.Adapters.Select(a => a.Name));
        using (var output = Output(model, x))
            AssertClose(output, expected.Tensors["output_task_b"], 1e-4, "'task_b' against PEFT's output");

        // PEFT's load_adapter of one sub-directory into an attachment.
        attachment.LoadAdapter(Path.Combine(FixtureDirectory, "task_b"), "again");
        attachment.SetAdapter("again");
        using (var output = Output(model, x))
            AssertClose(output, expected.Tensors["output_task_b"], 1e-4, "'task_b' loaded by name");
        attachment.Detach();
        RuleResNet.AssertUnchanged(baseState, model);
    }

    [Fact]
    public void SavePeft_writes_PEFTs_multi_adapter_layout_and_it_loads_back()
    {
        var (config, method) = PeftScenarios.For("lora");
        using var model = RuleResNet.Create();
        var attachment = FloraInjector.Attach(model, config, method);
        PeftScenarios.Perturb(attachment, seed: 300);
        attachment.AddAdapter("task_b", FloraMethod.Flora, new FloraModelOptions { Rank = 3, R3 = 2 });
        attachment.SetAdapter("task_b");
        PeftScenarios.Perturb(attachment, seed: 400);
        using var x = RuleResNet.Input();
        using var expectedB = Output(model, x);
        attachment.SetAdapter("default");
        using var expected = Output(model, x);

        string directory = Path.Combine(_dir, "multi");
        attachment.SavePeft(directory);
        Assert.Equal(new[] { "adapter_config.json", "adapter_model.safetensors" }, Directory.GetFiles(directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(new[] { "task_b" }, Directory.GetDirectories(directory).Select(Path.GetFileName));
        Assert.Equal(new[] { "adapter_config.json", "adapter_model.safetensors" }, Directory.GetFiles(Path.Combine(directory, "task_b")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        PeftRoundTripTests.ExportForPeft(directory, "multi_lora_flora", x, expected, ("output_task_b", expectedB));

        using var fresh = RuleResNet.Create();
        var loaded = FloraInjector.AttachFromPeft(fresh, directory);
        Assert.Equal(new[] { "default", "task_b" }, loaded.AdapterNames);
        using (var output = Output(fresh, x))
            AssertClose(output, expected, 1e-6, "'default' reloaded");
        loaded.SetAdapter("task_b");
        Assert.Equal(FloraMethod.Lora, loaded.Method); // FLoRA is exported as the LoRA it equals
        using (var output = Output(fresh, x))
            AssertClose(output, expectedB, 1e-5, "'task_b' reloaded");
    }

    [Fact]
    public void A_directory_with_only_named_sub_directories_is_refused_naming_them_and_the_model_is_untouched()
    {
        // PEFT's save_pretrained(selected_adapters=["task_b"]) writes <dir>/task_b/ and nothing at the root.
        string directory = Path.Combine(_dir, "named-only");
        Directory.CreateDirectory(Path.Combine(directory, "task_b"));
        foreach (var file in Directory.GetFiles(Path.Combine(FixtureDirectory, "task_b")))
            File.Copy(file, Path.Combine(directory, "task_b", Path.GetFileName(file)));
        using var model = RuleResNet.Create();
        var baseState = RuleResNet.Snapshot(model);

        var error = Assert.Throws<AdapterFileException>(() => FloraInjector.AttachFromPeft(model, directory));
        Assert.Contains("only the named adapter 'task_b' in sub-directories", error.Message);
        Assert.Contains(Path.Combine(directory, "task_b"), error.Message);
        RuleResNet.AssertUnchanged(baseState, model);

        var attachment = FloraInjector.AttachFromPeft(model, Path.Combine(directory, "task_b")); // the fix the message gives
        Assert.Equal(FloraMethod.Dora, attachment.Method);
    }

    [Fact]
    public void A_refused_adapter_leaves_the_directory_unwritten()
    {
        var (config, method) = PeftScenarios.For("lora");
        using var model = RuleResNet.Create();
        var attachment = FloraInjector.Attach(model, config, method);
        attachment.AddAdapter("bottleneck", FloraMethod.Houlsby, new FloraModelOptions { AdapterSize = 2 });
        string directory = Path.Combine(_dir, "refused");
        Assert.Contains("Houlsby", Assert.Throws<InvalidOperationException>(() => attachment.SavePeft(directory)).Message);
        Assert.False(Directory.Exists(directory));
    }
}
