using System.IO;
using System.Text.Json.Nodes;

namespace Flora.Tests.Peft;

/// <summary>
/// PEFT interop of a MultiheadAttention target on the rule-made attention model (<see cref="RuleAttention"/>): the
/// directories PEFT itself wrote (Fixtures/attention_lora, attention_rslora_patterns: PEFT's lora.MultiheadAttention,
/// <c>attn.lora_A/B</c> for in_proj_weight and <c>attn.base_layer.out_proj.lora_A/B</c>) load with PEFT's output and
/// with the output of TorchSharp's own attention on the merged weights (computed in double from the file); Flora's
/// exports (LoRA as it is, FLoRA as its exact LoRA at one rank for both projections) load back, and with
/// FLORA_PEFT_EXPORTS set they are left there for check_exports.py; what PEFT computes differently is refused.
/// </summary>
public sealed class MultiheadAttentionPeftTests : IDisposable
{
    private const string InProjectionKey = "base_model.model.attn.lora_A.weight";
    private const string OutProjectionKey = "base_model.model.attn.base_layer.out_proj.lora_A.weight";

    private readonly string _dir = Directory.CreateTempSubdirectory("flora-attention-peft-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string, int, double> Fixtures => new()
    {
        // fixture, the attention's rank and scale by PEFT's rules (r = 4, α = 8; rsLoRA: rank_pattern 2, alpha_pattern 3, α/√r)
        { "attention_lora", 4, 8.0 / 4 },
        { "attention_rslora_patterns", 2, 3 / System.Math.Sqrt(2) },
    };

    private static string FixtureDirectory(string fixture)
    {
        string directory = Path.Combine(RuleResNet.RepositoryRoot(), "tests", "Flora.Tests", "Peft", "Fixtures", fixture);
        Assert.True(File.Exists(Path.Combine(directory, "adapter_config.json")),
            $"The PEFT-made fixture {fixture} is missing under {Path.GetDirectoryName(directory)}. Make it with " +
            "`OUT=/tmp/peft-out bash tools/peft/run-on-gpu-machine.sh` on a machine with PyTorch (.peft/ copied there) and copy $OUT/Fixtures/* there.");
        return directory;
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void PEFTs_attention_fixture_loads_with_PEFTs_output_and_the_merged_attentions_output(string fixture, int rank, double scale)
    {
        string directory = FixtureDirectory(fixture);
        using var model = RuleAttention.Create();
        var baseState = RuleResNet.Snapshot(model);
        var attachment = FloraInjector.AttachFromPeft(model, directory);
        Assert.Equal(new[] { "attn.in_proj", "attn.out_proj", "head" }, attachment.Adapters.Select(a => a.Name));
        // PEFT applies out_proj's update twice (huggingface/peft#3774): Flora's out_proj adapter has twice the scale.
        foreach (var (name, applications) in new[] { ("attn.in_proj", 1.0), ("attn.out_proj", 2.0) })
        {
            var config = ((LoraLayer)attachment[name]).Config;
            Assert.Equal(rank, config.Rank);
            Assert.Equal(applications * scale, config.Scale, 12);
        }
        using var expected = Safetensors.Load(Path.Combine(directory, "expected_output.safetensors"));
        using var x = RuleAttention.Input();
        TestTensors.AssertBitEqual(x, expected.Tensors["input"], "the rule's input ids");
        using var output = model.forward(x);
        double error = RuleResNet.RelativeError(output, expected.Tensors["output"]);
        Assert.True(error <= 1e-5, $"relative error {error:G3} against PEFT's output");

        attachment.Detach();
        var now = model.state_dict();
        foreach (var (key, value) in baseState) TestTensors.AssertBitEqual(value, now[key], key);

        double headScale = 8.0 / (fixture.Contains("rslora", StringComparison.Ordinal) ? System.Math.Sqrt(4) : 4);
        using var mergedOutput = PeftsMergedModel(directory, scale, headScale, x);
        double mergedError = RuleResNet.RelativeError(output, mergedOutput);
        Assert.True(mergedError <= 1e-5, $"relative error {mergedError:G3} against the native attention on the merged weights");
    }

    /// <summary>
    /// Independently of the adapters: TorchSharp's native attention model with the weights PEFT's merge computes from
    /// <paramref name="directory"/> in double precision: W + s·B·A for in_proj_weight and the head, W + 2·s·B·A for
    /// out_proj (PEFT applies it twice, huggingface/peft#3774); a module without LoRA in the file keeps its weight.
    /// </summary>
    private static Tensor PeftsMergedModel(string directory, double scale, double headScale, Tensor x)
    {
        using var merged = RuleAttention.Create();
        using var weights = Safetensors.Load(Path.Combine(directory, "adapter_model.safetensors"));
        using (no_grad())
        {
            var state = merged.state_dict();
            foreach (var (parameter, module, s) in new[] { ("attn.in_proj_weight", "attn", scale), ("attn.out_proj.weight", "attn.base_layer.out_proj", 2 * scale), ("head.weight", "head", headScale) })
            {
                if (!weights.Tensors.ContainsKey($"base_model.model.{module}.lora_A.weight")) continue;
                using var a = weights.Tensors[$"base_model.model.{module}.lora_A.weight"].to(ScalarType.Float64);
                using var b = weights.Tensors[$"base_model.model.{module}.lora_B.weight"].to(ScalarType.Float64);
                using var sum = state[parameter].to(ScalarType.Float64) + b.matmul(a) * s;
                state[parameter].copy_(sum);
            }
        }
        return merged.forward(x);
    }

    [Fact]
    public void PEFTs_attention_fixture_loads_as_a_named_adapter_of_an_attachment()
    {
        string directory = FixtureDirectory("attention_lora");
        using var model = RuleAttention.Create();
        var attachment = FloraInjector.Attach(model, new FloraConfig { TargetModules = new[] { "attn", "head" }, Defaults = new FloraModelOptions { LoraRank = 2 } }, FloraMethod.Lora);
        attachment.LoadAdapter(directory, "peft");
        attachment.SetAdapter("peft");
        using var expected = Safetensors.Load(Path.Combine(directory, "expected_output.safetensors"));
        using var output = model.forward(expected.Tensors["input"]);
        double error = RuleResNet.RelativeError(output, expected.Tensors["output"]);
        Assert.True(error <= 1e-5, $"relative error {error:G3} against PEFT's output");
    }

    public static TheoryData<FloraMethod, int> Exports => new()
    {
        { FloraMethod.Lora, 4 },
        // FLoRA with r_out 20: in_proj [48, 16] keeps 20, out_proj [16, 16] 16, so both are written at rank 20 (out_proj's padded).
        { FloraMethod.Flora, 20 },
    };

    [Theory]
    [MemberData(nameof(Exports))]
    public void An_attention_export_loads_back_onto_a_fresh_attention_model(FloraMethod method, int rank)
    {
        using var model = RuleAttention.Create();
        var config = new FloraConfig
        {
            TargetModules = new[] { "attn", "head" },
            Defaults = new FloraModelOptions { Rank = 4, Scale = 0.5, LoraRank = rank, LoraAlpha = 6 },
            Overrides = new[] { ("attn", new FloraTargetOptions { OutRank = rank }) },
        };
        var attachment = FloraInjector.Attach(model, config, method);
        PeftScenarios.Perturb(attachment, seed: 500);
        using var x = RuleAttention.Input();
        using var expected = model.forward(x);
        using (attachment.Disable())
        using (var baseOutput = model.forward(x))
            Assert.True(RuleResNet.RelativeError(baseOutput, expected) > 1e-3, "the perturbed adapters change the output");

        string scenario = "attention_" + method.ToString().ToLowerInvariant();
        string directory = Path.Combine(_dir, scenario);
        attachment.SavePeft(directory);
        PeftRoundTripTests.ExportForPeft(directory, scenario, x, expected);

        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(directory, "adapter_config.json")))!;
        Assert.Equal("(attn|head)", (string?)json["target_modules"]);
        using (var written = Safetensors.Load(Path.Combine(directory, "adapter_model.safetensors")))
        {
            Assert.Equal(new long[] { rank, 16 }, written.Tensors[InProjectionKey].shape);
            Assert.Equal(new long[] { rank, 16 }, written.Tensors[OutProjectionKey].shape);
            Assert.Equal(new long[] { 48, rank }, written.Tensors["base_model.model.attn.lora_B.weight"].shape);
        }
        // What PEFT computes from the files (LoRA: α 6 over r 4, the head's rank clamped to 3; FLoRA as its LoRA: α = r, scale 1) is Flora's output.
        var (scale, headScale) = method == FloraMethod.Lora ? (6.0 / rank, 6.0 / 3) : (1.0, 1.0);
        using (var peftOutput = PeftsMergedModel(directory, scale, headScale, x))
        {
            double peftError = RuleResNet.RelativeError(peftOutput, expected);
            Assert.True(peftError <= 1e-5, $"{scenario}: PEFT's merged model from the export is off by {peftError:G3}");
        }

        using var fresh = RuleAttention.Create();
        var loaded = FloraInjector.AttachFromPeft(fresh, directory);
        Assert.Equal(attachment.Adapters.Select(a => a.Name), loaded.Adapters.Select(a => a.Name));
        Assert.All(loaded.Adapters, a => Assert.Equal(FloraMethod.Lora, a.Method));
        using var reloaded = fresh.forward(x);
        double error = RuleResNet.RelativeError(reloaded, expected);
        Assert.True(error <= 1e-5, $"{scenario}: relative error {error:G3}");
    }

    [Fact]
    public void An_attention_with_one_adapted_projection_is_exported_with_a_zero_LoRA_on_the_other()
    {
        // A Flora file holding only attn.in_proj's FLoRA (out_proj's target and tensors taken out of a saved file).
        string file = Path.Combine(_dir, "in_proj_only.flora.safetensors");
        using (var model = RuleAttention.Create())
        {
            var attachment = FloraInjector.Attach(model, new FloraConfig { TargetModules = new[] { "attn" }, Defaults = new FloraModelOptions { Rank = 3, Scale = 0.5 } });
            PeftScenarios.Perturb(attachment, seed: 700);
            string full = Path.Combine(_dir, "full.flora.safetensors");
            attachment.Save(full);
            using var content = Safetensors.Load(full);
            var config = JsonNode.Parse(content.Metadata[AdapterFileConfig.MetadataEntryName])!.AsObject();
            var targets = config["targets"]!.AsArray();
            targets.Remove(targets.Single(t => (string?)t!["name"] == "attn.out_proj"));
            var metadata = content.Metadata.ToDictionary(m => m.Key, m => m.Value);
            metadata[AdapterFileConfig.MetadataEntryName] = config.ToJsonString();
            Safetensors.Save(file, content.Tensors.Where(t => !t.Key.StartsWith("attn.out_proj.", StringComparison.Ordinal)).ToDictionary(t => t.Key, t => t.Value), metadata);
        }
        using var inOnly = RuleAttention.Create();
        var loaded = FloraInjector.AttachFromFile(inOnly, file);
        Assert.Equal(new[] { "attn.in_proj" }, loaded.Adapters.Select(a => a.Name));
        using var x = RuleAttention.Input();
        using var expected = inOnly.forward(x);

        string directory = Path.Combine(_dir, "in_proj_only");
        loaded.SavePeft(directory);
        using (var written = Safetensors.Load(Path.Combine(directory, "adapter_model.safetensors")))
        {
            Assert.Equal(new long[] { 3, 16 }, written.Tensors[OutProjectionKey].shape);
            Assert.Equal(0.0, written.Tensors[OutProjectionKey].abs().sum().item<float>());
            Assert.Equal(0.0, written.Tensors["base_model.model.attn.base_layer.out_proj.lora_B.weight"].abs().sum().item<float>());
        }
        using (var peftOutput = PeftsMergedModel(directory, 1.0, 1.0, x))
        {
            double peftError = RuleResNet.RelativeError(peftOutput, expected);
            Assert.True(peftError <= 1e-5, $"PEFT's merged model from the export is off by {peftError:G3}");
        }
        using var fresh = RuleAttention.Create();
        FloraInjector.AttachFromPeft(fresh, directory);
        using var reloaded = fresh.forward(x);
        double error = RuleResNet.RelativeError(reloaded, expected);
        Assert.True(error <= 1e-5, $"relative error {error:G3}");
    }

    [Fact]
    public void A_DoRA_directory_on_an_attention_layer_is_refused_as_PEFT_refuses_it()
    {
        var (config, tensors) = PeftRefusalTests.Fixture("attention_lora");
        config["use_dora"] = true;
        foreach (var (module, size) in new[] { ("attn", 48L), ("attn.base_layer.out_proj", 16L), ("head", 3L) })
            tensors[$"base_model.model.{module}.lora_magnitude_vector"] = torch.ones(size);
        AssertRefused(config, tensors, "use_dora", "'attn' is a MultiheadAttention", "refuses DoRA");
    }

    [Fact]
    public void An_attention_without_its_out_projections_LoRA_is_refused_naming_the_key()
    {
        var (config, tensors) = PeftRefusalTests.Fixture("attention_lora");
        tensors.Remove(OutProjectionKey);
        tensors.Remove("base_model.model.attn.base_layer.out_proj.lora_B.weight");
        AssertRefused(config, tensors, OutProjectionKey, "adapts both projections");
    }

    [Fact]
    public void An_out_projection_of_the_wrong_shape_is_refused_naming_the_key_and_the_layout()
    {
        var (config, tensors) = PeftRefusalTests.Fixture("attention_lora");
        tensors[OutProjectionKey] = torch.zeros(4, 12);
        AssertRefused(config, tensors, OutProjectionKey, "[4, 12]", "[4, 16]");
    }

    [Fact]
    public void A_rank_pattern_unlike_the_attentions_tensors_names_the_field()
    {
        var (config, tensors) = PeftRefusalTests.Fixture("attention_lora");
        config["rank_pattern"] = new JsonObject { ["attn"] = 3 };
        AssertRefused(config, tensors, "rank_pattern[\"attn\"]", "4 rows");
    }

    private void AssertRefused(JsonObject config, Dictionary<string, Tensor> tensors, params string[] fragments)
    {
        string directory = Path.Combine(_dir, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "adapter_config.json"), config.ToJsonString());
        Safetensors.Save(Path.Combine(directory, "adapter_model.safetensors"), tensors);
        using var model = RuleAttention.Create();
        PeftRefusalTests.AssertRefused(model, directory, fragments);
    }
}
