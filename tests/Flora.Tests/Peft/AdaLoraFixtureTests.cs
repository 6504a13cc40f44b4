using System.IO;
using System.Text.Json.Nodes;

namespace Flora.Tests.Peft;

/// <summary>
/// The AdaLoRA fixture PEFT itself made (tools/peft/make_fixtures.py, <c>adalora_fc_convs</c>): its
/// <c>replay.safetensors</c> holds, per step, the weights and gradients PEFT's <c>update_and_allocate</c> saw, its budget
/// schedule, Λ after the call and the rank pattern; replayed through Flora's allocation on TorchSharp's ResNet-18 with
/// the same targets and settings, every step gives PEFT's budgets, masks and singular values, the final model PEFT's
/// output, and SavePeft PEFT's directory. PEFT's resized directory itself loads with its masks. Until the fixture is
/// made these tests fail, naming the command that makes it.
/// </summary>
public sealed class AdaLoraFixtureTests : IDisposable
{
    /// <summary>The fixture's folder name (make_fixtures.py's ADALORA_CONFIGS).</summary>
    public const string Name = "adalora_fc_convs";

    private readonly string _dir = Directory.CreateTempSubdirectory("flora-adalora-fixture-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The fixture's folder; fails, saying how to make it, when it is not there.</summary>
    private static string Fixture()
    {
        string directory = Path.Combine(RuleResNet.RepositoryRoot(), "tests", "Flora.Tests", "Peft", "Fixtures", Name);
        var missing = new[] { "adapter_config.json", "adapter_model.safetensors", "expected_output.safetensors", "replay.safetensors" }
            .Where(f => !File.Exists(Path.Combine(directory, f))).ToList();
        Assert.True(missing.Count == 0,
            $"The PEFT-made AdaLoRA fixture is missing ({string.Join(", ", missing)} under {directory}). Make it with PEFT on a machine with PyTorch " +
            "(tools/peft/README.md): `OUT=/tmp/peft-out bash tools/peft/run-on-gpu-machine.sh` in the repository root with .peft/ copied there, " +
            $"then copy $OUT/Fixtures/{Name} to tests/Flora.Tests/Peft/Fixtures/.");
        return directory;
    }

    private static JsonObject PeftConfig(string directory) =>
        (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(directory, "adapter_config.json")))!;

    /// <summary>The fixture's settings as Flora's options: its targets, lora_alpha and AdaLoRA schedule.</summary>
    private static FloraConfig ConfigOf(JsonObject peft) => new()
    {
        TargetModules = new[] { (string)peft["target_modules"]! },
        Defaults = new FloraModelOptions
        {
            LoraAlpha = (double)peft["lora_alpha"]!,
            AdaLora = new AdaLoraOptions
            {
                InitRank = (int)peft["init_r"]!, TargetRank = (int)peft["target_r"]!, TInit = (int)peft["tinit"]!, TFinal = (int)peft["tfinal"]!,
                DeltaT = (int)peft["deltaT"]!, Beta1 = (double)peft["beta1"]!, Beta2 = (double)peft["beta2"]!,
                OrthRegWeight = (double)peft["orth_reg_weight"]!, TotalSteps = (int)peft["total_step"]!,
            },
        },
    };

    /// <summary>
    /// Attaches the fixture's AdaLoRA to a rule-made ResNet-18 and replays every step: PEFT's weights and gradients in,
    /// UpdateAndAllocate, then the budget schedule, Λ (bit for bit) and the rank pattern checked against PEFT's.
    /// </summary>
    private static FloraAttachment Replay(nn.Module model, string directory)
    {
        var peft = PeftConfig(directory);
        var attachment = FloraInjector.Attach(model, ConfigOf(peft), FloraMethod.AdaLora);
        var adapters = attachment.Adapters.Cast<AdaLoraLayer>().ToArray();
        Assert.Equal(new[] { "conv1", "layer2.0.downsample.0", "fc" }, adapters.Select(a => a.Name));
        using var replay = Safetensors.Load(Path.Combine(directory, "replay.safetensors"));
        int steps = int.Parse(replay.Metadata["steps"], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal((int)peft["total_step"]!, steps);
        int patterns = 0;
        for (int step = 1; step <= steps; step++)
        {
            foreach (var adapter in adapters)
                foreach (var (key, tensor) in adapter.AdapterTensors)
                {
                    using (torch.no_grad()) tensor.copy_(replay.Tensors[$"step{step}.{adapter.Name}.{key}"]);
                    tensor.grad = replay.Tensors[$"step{step}.{adapter.Name}.{key}.grad"].clone();
                }
            var schedule = replay.Tensors[$"step{step}.schedule"].data<long>().ToArray();
            Assert.Equal(((int)schedule[0], schedule[1] != 0), attachment.RankAllocator!.BudgetSchedule(step));

            attachment.UpdateAndAllocate(step);

            foreach (var adapter in adapters)
            {
                TestTensors.AssertBitEqual(replay.Tensors[$"step{step}.{adapter.Name}.lora_E.after"], adapter.LoraE, $"step {step}: {adapter.Name}.lora_E after update_and_allocate");
                if (!replay.Tensors.TryGetValue($"step{step}.{adapter.Name}.rank_pattern", out var pattern)) continue;
                Assert.Equal(pattern.data<bool>().ToArray(), adapter.RankPattern);
                patterns++;
            }
            foreach (var parameter in attachment.Parameters()) parameter.grad = null;
        }
        Assert.True(patterns > 0, "PEFT's allocation set a rank pattern during the replay");
        return attachment;
    }

    [Fact]
    public void PEFTs_allocation_replays_step_by_step_and_ends_with_PEFTs_output()
    {
        string directory = Fixture();
        using var model = RuleResNet.Create();
        var attachment = Replay(model, directory);
        var peft = PeftConfig(directory);
        var finalPattern = peft["rank_pattern"]!.AsObject();
        foreach (var adapter in attachment.Adapters.Cast<AdaLoraLayer>())
            Assert.Equal(finalPattern[adapter.Name + ".lora_E"]!.AsArray().Select(k => (bool)k!), adapter.RankPattern);
        Assert.Equal(attachment.RankAllocator!.TargetBudget, attachment.Adapters.Cast<AdaLoraLayer>().Sum(a => a.ActiveRank));

        using var expected = Safetensors.Load(Path.Combine(directory, "expected_output.safetensors"));
        using var output = model.forward(expected.Tensors["input"]);
        double error = RuleResNet.RelativeError(output, expected.Tensors["output"]);
        Assert.True(error <= 1e-4, $"relative error {error:G3} against PEFT's output after the replay");
    }

    [Fact]
    public void SavePeft_after_the_replay_writes_PEFTs_directory()
    {
        string directory = Fixture();
        using var model = RuleResNet.Create();
        var attachment = Replay(model, directory);
        string exported = Path.Combine(_dir, "export");
        attachment.SavePeft(exported);

        var peft = PeftConfig(directory);
        var ours = PeftConfig(exported);
        Assert.Equal("ADALORA", (string)ours["peft_type"]!);
        foreach (var field in new[] { "init_r", "target_r", "tinit", "tfinal", "deltaT", "total_step" })
            Assert.True((int)peft[field]! == (int)ours[field]!, $"{field}: PEFT {peft[field]}, Flora {ours[field]}");
        foreach (var field in new[] { "lora_alpha", "beta1", "beta2", "orth_reg_weight" })
            Assert.True((double)peft[field]! == (double)ours[field]!, $"{field}: PEFT {peft[field]}, Flora {ours[field]}");
        // PEFT writes its keys sorted (json.dumps(sort_keys=True)); the entries must be the same.
        var theirPatterns = peft["rank_pattern"]!.AsObject().ToDictionary(p => p.Key, p => p.Value!.AsArray().Select(k => (bool)k!).ToArray());
        var ourPatterns = ours["rank_pattern"]!.AsObject().ToDictionary(p => p.Key, p => p.Value!.AsArray().Select(k => (bool)k!).ToArray());
        Assert.Equal(theirPatterns.Keys.Order(StringComparer.Ordinal), ourPatterns.Keys.Order(StringComparer.Ordinal));
        foreach (var (key, kept) in theirPatterns) Assert.Equal(kept, ourPatterns[key]);
        // The same modules selected, whatever the spelling of target_modules.
        var peftConfig = PeftAdapterConfig.Read(directory);
        var ourConfig = PeftAdapterConfig.Read(exported);
        foreach (var node in ModuleTree.Walk(model))
            Assert.Equal(PeftMatching.IsTarget(peftConfig, node.Path), PeftMatching.IsTarget(ourConfig, node.Path));

        using var theirs = Safetensors.Load(Path.Combine(directory, "adapter_model.safetensors"));
        using var mine = Safetensors.Load(Path.Combine(exported, "adapter_model.safetensors"));
        Assert.Equal(theirs.Tensors.Keys.Order(StringComparer.Ordinal), mine.Tensors.Keys.Order(StringComparer.Ordinal));
        foreach (var (key, tensor) in theirs.Tensors) TestTensors.AssertBitEqual(tensor, mine.Tensors[key], key);
    }

    [Fact]
    public void PEFTs_resized_directory_loads_with_its_masks_and_output()
    {
        string directory = Fixture();
        var finalPattern = PeftConfig(directory)["rank_pattern"]!.AsObject();
        using var model = RuleResNet.Create();
        var baseState = RuleResNet.Snapshot(model);
        var attachment = FloraInjector.AttachFromPeft(model, directory);
        Assert.Equal(FloraMethod.AdaLora, attachment.Method);
        foreach (var adapter in attachment.Adapters.Cast<AdaLoraLayer>())
        {
            var kept = finalPattern[adapter.Name + ".lora_E"]!.AsArray().Select(k => (bool)k!).ToArray();
            Assert.Equal(kept, adapter.RankPattern);
            Assert.Equal(kept.Length, adapter.Config.Rank);
            for (int i = 0; i < kept.Length; i++)
                if (!kept[i]) Assert.Equal(0f, adapter.LoraE[i, 0].item<float>());
        }
        using var expected = Safetensors.Load(Path.Combine(directory, "expected_output.safetensors"));
        using var output = model.forward(expected.Tensors["input"]);
        double error = RuleResNet.RelativeError(output, expected.Tensors["output"]);
        Assert.True(error <= 1e-4, $"relative error {error:G3} against PEFT's output");
        attachment.Detach();
        RuleResNet.AssertUnchanged(baseState, model);
    }
}
