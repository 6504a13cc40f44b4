using System.IO;

namespace Flora.Tests.Peft;

/// <summary>
/// SavePeft then AttachFromPeft onto a fresh TorchVision ResNet-18 with the same base weights reproduces the adapted
/// model: LoRA, DoRA and AdaLoRA (resized by its rank pattern) as they are, FLoRA as the LoRA it equals. With FLORA_PEFT_EXPORTS set (tools/peft/README.md),
/// the test also leaves each exported directory there with the input and output, for check_exports.py to load with
/// PEFT itself.
/// </summary>
public sealed class PeftRoundTripTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flora-peft-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string> Scenarios => new(PeftScenarios.Names);

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void An_export_loads_back_onto_a_fresh_ResNet18_with_the_same_outputs(string scenario)
    {
        var (config, method) = PeftScenarios.For(scenario);
        using var model = RuleResNet.Create();
        var attachment = FloraInjector.Attach(model, config, method);
        PeftScenarios.Perturb(attachment, seed: 100);
        using var x = RuleResNet.Input();
        using var expected = model.forward(x);
        using (var baseOutput = RunDisabled(attachment, model, x))
            Assert.True(RuleResNet.RelativeError(baseOutput, expected) > 1e-3, "the perturbed adapters change the output");

        string directory = Path.Combine(_dir, scenario);
        attachment.SavePeft(directory);
        Assert.Equal(new[] { "adapter_config.json", "adapter_model.safetensors" }, Directory.GetFiles(directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Empty(Directory.GetDirectories(_dir, ".*"));
        ExportForPeft(directory, scenario, x, expected);

        using var fresh = RuleResNet.Create();
        var baseState = RuleResNet.Snapshot(fresh);
        var loaded = FloraInjector.AttachFromPeft(fresh, directory);
        Assert.Equal(method is FloraMethod.Dora or FloraMethod.AdaLora ? method : FloraMethod.Lora, loaded.Method);
        Assert.Equal(attachment.Adapters.Select(a => a.Name), loaded.Adapters.Select(a => a.Name));
        Assert.Equal(attachment.ModulesToSave.Select(m => m.Path), loaded.ModulesToSave.Select(m => m.Path));
        foreach (var (original, imported) in attachment.Adapters.Zip(loaded.Adapters))
        {
            if (original is AdaLoraLayer adaLora)
            {
                var importedAdaLora = (AdaLoraLayer)imported;
                Assert.Equal(adaLora.Config.Rank, importedAdaLora.Config.Rank);
                Assert.Equal(adaLora.Config.Scale, importedAdaLora.Config.Scale, 12);
                Assert.Equal(adaLora.RankPattern, importedAdaLora.RankPattern);
                continue;
            }
            int expectedRank = original is FloraLayer flora ? flora.Config.Ranks[0] : ((LoraLayer)original).Config.Rank;
            var config2 = ((LoraLayer)imported).Config;
            Assert.Equal(expectedRank, config2.Rank);
            Assert.Equal(original is LoraLayer lora ? lora.Config.Scale : 1.0, config2.Scale, 12);
        }
        if (method == FloraMethod.AdaLora) // the allocation ran: 3 targets of 6 triplets down to 3 × 4, exported resized
            Assert.Equal(12, loaded.Adapters.Cast<AdaLoraLayer>().Sum(a => a.ActiveRank));
        using var reloaded = fresh.forward(x);
        double error = RuleResNet.RelativeError(reloaded, expected);
        Assert.True(error <= (method == FloraMethod.Flora ? 1e-5 : 1e-6), $"{scenario}: relative error {error:G3}");

        loaded.Detach();
        RuleResNet.AssertUnchanged(baseState, fresh);
    }

    [Fact]
    public void Rank_and_alpha_overrides_become_anchored_rank_and_alpha_patterns()
    {
        var (config, method) = PeftScenarios.For("lora");
        using var model = RuleResNet.Create();
        var attachment = FloraInjector.Attach(model, config, method);
        string directory = Path.Combine(_dir, "patterns");
        attachment.SavePeft(directory);
        var peft = PeftAdapterConfig.Read(directory);
        Assert.Equal(4, peft.R);
        Assert.Equal(8, peft.LoraAlpha);
        Assert.Equal(@"(layer1\.0\.conv1|layer2\.0\.downsample\.0|layer3\.1\.conv2)", peft.TargetModuleRegex);
        Assert.Equal(new[] { KeyValuePair.Create(@"^layer3\.1\.conv2", 2) }, peft.RankPattern);
        Assert.Equal(new[] { KeyValuePair.Create(@"^layer3\.1\.conv2", 3.0) }, peft.AlphaPattern);
        Assert.Equal(new[] { "fc" }, peft.ModulesToSave);
    }

    [Fact]
    public void SavePeft_replaces_an_existing_export_in_place()
    {
        var (config, method) = PeftScenarios.For("rslora");
        using var model = RuleResNet.Create();
        var attachment = FloraInjector.Attach(model, config, method);
        string directory = Path.Combine(_dir, "again");
        attachment.SavePeft(directory);
        PeftScenarios.Perturb(attachment, seed: 7);
        attachment.SavePeft(directory);
        using var x = RuleResNet.Input();
        using var expected = model.forward(x);
        using var fresh = RuleResNet.Create();
        FloraInjector.AttachFromPeft(fresh, directory);
        using var reloaded = fresh.forward(x);
        Assert.True(RuleResNet.RelativeError(reloaded, expected) <= 1e-6);
        Assert.Single(Directory.GetFileSystemEntries(_dir));
    }

    private static Tensor RunDisabled(FloraAttachment attachment, nn.Module<Tensor, Tensor> model, Tensor x)
    {
        using (attachment.Disable()) return model.forward(x);
    }

    /// <summary>
    /// With FLORA_PEFT_EXPORTS set, copies the export there (with its sub-directories: other named adapters) with
    /// <c>flora_output.safetensors</c> (input, output and <paramref name="more"/> outputs) beside it.
    /// </summary>
    internal static void ExportForPeft(string directory, string scenario, Tensor x, Tensor output, params (string Key, Tensor Output)[] more)
    {
        string? root = Environment.GetEnvironmentVariable("FLORA_PEFT_EXPORTS");
        if (string.IsNullOrEmpty(root)) return;
        string target = Path.Combine(root, scenario);
        CopyDirectory(directory, target);
        var outputs = new Dictionary<string, Tensor> { ["input"] = x, ["output"] = output };
        foreach (var (key, tensor) in more) outputs[key] = tensor;
        Safetensors.Save(Path.Combine(target, "flora_output.safetensors"), outputs);
    }

    private static void CopyDirectory(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var file in Directory.GetFiles(source)) File.Copy(file, Path.Combine(target, Path.GetFileName(file)), overwrite: true);
        foreach (var sub in Directory.GetDirectories(source)) CopyDirectory(sub, Path.Combine(target, Path.GetFileName(sub)));
    }
}
