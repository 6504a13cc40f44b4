using System.IO;
using System.Text.Json.Nodes;
using Flora.Tests.Injection;

namespace Flora.Tests.Peft;

/// <summary>
/// AdaLoRA directories as PEFT writes them (peft_type ADALORA): what SavePeft writes (keys, shapes, resizing by the rank
/// pattern, one init_r and lora_alpha for targets of different ranks and scales), what AttachFromPeft reads back, and
/// what either refuses — naming the field or key — with the model bit-identical.
/// </summary>
public sealed class AdaLoraPeftTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flora-adalora-peft-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The AdaLoRA round-trip scenario, perturbed and allocated, exported; returns its output on the rule input too.</summary>
    private (string Directory, Tensor Output) Exported(FloraConfig? config = null)
    {
        var (scenario, method) = PeftScenarios.For("adalora");
        using var model = RuleResNet.Create();
        var attachment = FloraInjector.Attach(model, config ?? scenario, method);
        PeftScenarios.Perturb(attachment, seed: 21);
        using var x = RuleResNet.Input();
        var output = model.forward(x);
        string directory = Path.Combine(_dir, Guid.NewGuid().ToString("N"));
        attachment.SavePeft(directory);
        return (directory, output);
    }

    private static JsonObject ConfigOf(string directory) =>
        (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(directory, "adapter_config.json")))!;

    [Fact]
    public void SavePeft_writes_PEFTs_resized_state_dict_and_rank_pattern()
    {
        var (directory, output) = Exported();
        output.Dispose();
        var json = ConfigOf(directory);
        Assert.Equal("ADALORA", (string)json["peft_type"]!);
        Assert.Equal((6, 4, 10, 2, 2, 1), ((int)json["init_r"]!, (int)json["target_r"]!, (int)json["total_step"]!, (int)json["tinit"]!, (int)json["tfinal"]!, (int)json["deltaT"]!));
        Assert.Equal(8, (double)json["lora_alpha"]!);
        var patterns = json["rank_pattern"]!.AsObject();
        Assert.Equal(new[] { "conv1.lora_E", "layer2.0.downsample.0.lora_E", "fc.lora_E" }, patterns.Select(p => p.Key));
        Assert.All(patterns, p => Assert.Equal(6, p.Value!.AsArray().Count));
        Assert.Equal(12, patterns.Sum(p => p.Value!.AsArray().Count(k => (bool)k!)));

        using var content = Safetensors.Load(Path.Combine(directory, "adapter_model.safetensors"));
        foreach (var (path, kept) in patterns.Select(p => (p.Key[..^".lora_E".Length], p.Value!.AsArray().Count(k => (bool)k!))))
        {
            Assert.Equal(kept, content.Tensors[$"base_model.model.{path}.lora_A"].shape[0]);
            Assert.Equal(new long[] { kept, 1 }, content.Tensors[$"base_model.model.{path}.lora_E"].shape);
            Assert.Equal(kept, content.Tensors[$"base_model.model.{path}.lora_B"].shape[1]);
        }
        Assert.Equal(new long[] { content.Tensors["base_model.model.conv1.lora_A"].shape[0], 3 * 7 * 7 }, content.Tensors["base_model.model.conv1.lora_A"].shape);
        Assert.DoesNotContain(content.Tensors.Keys, k => k.Contains("ranknum", StringComparison.Ordinal) || k.EndsWith(".weight", StringComparison.Ordinal) && k.Contains("lora_", StringComparison.Ordinal));
        Assert.Contains("base_model.model.layer4.1.bn2.running_mean", content.Tensors.Keys);
    }

    [Fact]
    public void Before_any_allocation_the_full_tensors_are_written_without_a_rank_pattern()
    {
        var (config, method) = PeftScenarios.For("adalora");
        using var model = RuleResNet.Create();
        var attachment = FloraInjector.Attach(model, config, method);
        string directory = Path.Combine(_dir, "fresh");
        attachment.SavePeft(directory);
        Assert.Null(ConfigOf(directory)["rank_pattern"]);
        using (var content = Safetensors.Load(Path.Combine(directory, "adapter_model.safetensors")))
            Assert.Equal(new long[] { 6, 512 }, content.Tensors["base_model.model.fc.lora_A"].shape);
        using var fresh = RuleResNet.Create();
        var loaded = FloraInjector.AttachFromPeft(fresh, directory);
        Assert.All(loaded.Adapters.Cast<AdaLoraLayer>(), a => Assert.Equal(6, a.ActiveRank));
        Assert.Equal(PeftScenarios.AdaLoraSchedule with { }, loaded.RankAllocator!.Options);
    }

    [Fact]
    public void Targets_of_different_ranks_and_scales_share_PEFTs_init_r_and_lora_alpha_with_the_same_outputs()
    {
        // Matched ranks: every target its own initial rank (and α = its rank), as PEFT cannot express directly.
        var config = new FloraConfig
        {
            TargetModules = new[] { @"conv1|layer2\.0\.downsample\.0|fc" },
            Defaults = new FloraModelOptions { Rank = 4, R3 = 2, AdaLora = new AdaLoraOptions { TotalSteps = 10, TInit = 2, TFinal = 2 } },
        };
        using var model = RuleResNet.Create();
        var attachment = FloraInjector.Attach(model, config, FloraMethod.AdaLora);
        var ranks = attachment.Adapters.Cast<AdaLoraLayer>().Select(a => a.Config.Rank).ToArray();
        Assert.True(ranks.Distinct().Count() > 1, $"ranks {string.Join(", ", ranks)} differ");
        PeftScenarios.Perturb(attachment, seed: 5);
        using var x = RuleResNet.Input();
        using var expected = model.forward(x);
        string directory = Path.Combine(_dir, "matched");
        attachment.SavePeft(directory);

        var json = ConfigOf(directory);
        Assert.Equal(ranks.Max(), (int)json["init_r"]!);
        Assert.All(json["rank_pattern"]!.AsObject(), p => Assert.Equal(ranks.Max(), p.Value!.AsArray().Count));
        using var fresh = RuleResNet.Create();
        var loaded = FloraInjector.AttachFromPeft(fresh, directory);
        Assert.Equal(attachment.Adapters.Cast<AdaLoraLayer>().Select(a => a.ActiveRank), loaded.Adapters.Cast<AdaLoraLayer>().Select(a => a.ActiveRank));
        using var reloaded = fresh.forward(x);
        double error = RuleResNet.RelativeError(reloaded, expected);
        Assert.True(error <= 1e-5, $"relative error {error:G3}");
    }

    [Fact]
    public void What_PEFTs_AdaLoRA_cannot_express_is_refused_before_anything_is_written()
    {
        using var model = new TinyNet();
        var grouped = FloraInjector.Attach(model, new FloraConfig
        {
            TargetModules = new[] { "conv1", "dw" },
            Defaults = new FloraModelOptions { AdaLora = new AdaLoraOptions { TotalSteps = 10 } },
        }, FloraMethod.AdaLora);
        string directory = Path.Combine(_dir, "refused");
        Assert.Contains("'dw' is a grouped convolution (groups 8)", Assert.Throws<InvalidOperationException>(() => grouped.SavePeft(directory)).Message);
        grouped.Detach();

        var unset = FloraInjector.Attach(model, new FloraConfig { TargetModules = new[] { "conv1" } }, FloraMethod.AdaLora);
        Assert.Contains("AdaLoraOptions.TotalSteps is unset", Assert.Throws<InvalidOperationException>(() => unset.SavePeft(directory)).Message);
        Assert.False(Directory.Exists(directory));
    }

    [Fact]
    public void Conv1d_and_Conv3d_targets_have_no_PEFT_AdaLoRA_layer()
    {
        using var model = nn.Sequential(("line", nn.Conv1d(2, 4, 3)));
        var attachment = FloraInjector.Attach(model, new FloraConfig
        {
            TargetModules = new[] { "line" },
            Defaults = new FloraModelOptions { AdaLora = new AdaLoraOptions { TotalSteps = 10 } },
        }, FloraMethod.AdaLora);
        var error = Assert.Throws<InvalidOperationException>(() => attachment.SavePeft(Path.Combine(_dir, "conv1d")));
        Assert.Contains("PEFT's AdaLoRA has SVD layers for Linear and Conv2d only", error.Message);
    }

    /// <summary>AttachFromPeft refuses, naming every fragment, and the model is bit-identical.</summary>
    private void Refused(Action<JsonObject, Dictionary<string, Tensor>> mutate, params string[] fragments)
    {
        var (directory, output) = Exported();
        output.Dispose();
        var json = ConfigOf(directory);
        Dictionary<string, Tensor> tensors;
        using (var content = Safetensors.Load(Path.Combine(directory, "adapter_model.safetensors")))
            tensors = content.Tensors.ToDictionary(t => t.Key, t => t.Value.clone());
        mutate(json, tensors);
        File.WriteAllText(Path.Combine(directory, "adapter_config.json"), json.ToJsonString());
        Safetensors.Save(Path.Combine(directory, "adapter_model.safetensors"), tensors);
        using var model = RuleResNet.Create();
        var snapshot = RuleResNet.Snapshot(model);
        var error = Assert.Throws<AdapterFileException>(() => FloraInjector.AttachFromPeft(model, directory));
        foreach (var fragment in fragments) Assert.Contains(fragment, error.Message);
        RuleResNet.AssertUnchanged(snapshot, model);
    }

    [Fact]
    public void A_missing_total_step_is_refused_as_PEFT_refuses_it() =>
        Refused((json, _) => json.Remove("total_step"), "field 'total_step' is missing", "AdaLoRA does not work when total_step is None");

    [Fact]
    public void A_schedule_without_a_budgeting_phase_is_refused() =>
        Refused((json, _) => json["tinit"] = 8, "field 'tinit' is 8 with tfinal 2 and total_step 10", "tinit < total_step − tfinal");

    [Fact]
    public void DoRA_is_refused_as_PEFTs_AdaLoraConfig_refuses_it() =>
        Refused((json, _) => json["use_dora"] = true, "field 'use_dora' is true", "ADALORA does not support DoRA");

    [Fact]
    public void A_rank_pattern_of_another_length_is_refused() =>
        Refused((json, _) => json["rank_pattern"]!["fc.lora_E"] = new JsonArray(true, false, true), "key 'rank_pattern[\"fc.lora_E\"]'", "has 3 entries", "needs 6");

    [Fact]
    public void A_rank_pattern_for_a_module_without_an_adapter_is_refused() =>
        Refused((json, _) => json["rank_pattern"]!["layer1.0.conv1.lora_E"] = new JsonArray(Enumerable.Range(0, 6).Select(_ => (JsonNode?)true).ToArray()),
            "it resizes 'layer1.0.conv1', which has no AdaLoRA adapter");

    [Fact]
    public void Tensors_that_do_not_match_the_kept_triplets_are_refused_by_key() =>
        Refused((_, tensors) => tensors["base_model.model.fc.lora_E"] = torch.zeros(7, 1),
            "key 'base_model.model.fc.lora_E'", "its shape is [7, 1] but the model needs [", "the triplets rank_pattern keeps");

    [Fact]
    public void A_missing_singular_value_tensor_is_refused_by_key() =>
        Refused((_, tensors) => tensors.Remove("base_model.model.conv1.lora_E"),
            "key 'base_model.model.conv1.lora_E'", "every AdaLoRA target has lora_A, lora_B and lora_E");

    [Fact]
    public void A_LoRA_style_key_in_an_AdaLoRA_directory_is_refused() =>
        Refused((_, tensors) => tensors["base_model.model.fc.lora_A.weight"] = torch.zeros(4, 512),
            "key 'base_model.model.fc.lora_A.weight'", "an AdaLoRA tensor (lora_A, lora_B, lora_E)");

    [Fact]
    public void Fields_PEFTs_AdaLoRA_ignores_load_with_a_warning()
    {
        var (directory, expected) = Exported();
        using (expected)
        {
            var json = ConfigOf(directory);
            json["use_rslora"] = true;
            json["alpha_pattern"] = new JsonObject { ["fc"] = 3 };
            File.WriteAllText(Path.Combine(directory, "adapter_config.json"), json.ToJsonString());
            var warnings = new List<string>();
            using var model = RuleResNet.Create();
            FloraInjector.AttachFromPeft(model, directory, new PeftImportOptions { OnWarning = warnings.Add });
            Assert.Equal(2, warnings.Count);
            Assert.Contains(warnings, w => w.Contains("key 'use_rslora'", StringComparison.Ordinal) && w.Contains("ignores it", StringComparison.Ordinal));
            Assert.Contains(warnings, w => w.Contains("key 'alpha_pattern'", StringComparison.Ordinal));
            using var x = RuleResNet.Input();
            using var output = model.forward(x);
            Assert.True(RuleResNet.RelativeError(output, expected) <= 1e-6);
        }
    }

    [Fact]
    public void A_lora_alpha_of_zero_scales_by_each_layers_rank_as_PEFT_does()
    {
        var (directory, expected) = Exported();
        expected.Dispose();
        var json = ConfigOf(directory);
        json["lora_alpha"] = 0;
        File.WriteAllText(Path.Combine(directory, "adapter_config.json"), json.ToJsonString());
        using var model = RuleResNet.Create();
        var loaded = FloraInjector.AttachFromPeft(model, directory);
        // PEFT's resized layers: scaling = float(kept rank), ranknum = init_r.
        Assert.All(loaded.Adapters.Cast<AdaLoraLayer>(), a => Assert.Equal(a.ActiveRank / (6 + 1e-5), a.Config.Scale, 12));
    }
}
