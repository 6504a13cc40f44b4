using System.IO;
using System.Text.Json.Nodes;
using TorchSharp.Modules;

namespace Flora.Tests.Peft;

/// <summary>
/// What AttachFromPeft refuses — because PEFT computes something Flora's adapters do not, or the directory is
/// inconsistent — throws an AdapterFileException naming the field or key and its value, and leaves the model
/// bit-identical (state-dict snapshot, no adapter, trainability as before). SavePeft refuses what PEFT cannot express.
/// </summary>
public sealed class PeftRefusalTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flora-peft-refuse-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A valid PEFT directory (LoRA on three convolutions, the head saved whole) as JSON and tensors to mutate.</summary>
    private (JsonObject Config, Dictionary<string, Tensor> Tensors) ValidLora(string scenario = "lora")
    {
        var (config, method) = PeftScenarios.For(scenario);
        using var model = RuleResNet.Create();
        var attachment = FloraInjector.Attach(model, config, method);
        PeftScenarios.Perturb(attachment, seed: 3);
        string directory = Path.Combine(_dir, "valid-" + Guid.NewGuid().ToString("N"));
        attachment.SavePeft(directory);
        var json = (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(directory, "adapter_config.json")))!;
        using var content = Safetensors.Load(Path.Combine(directory, "adapter_model.safetensors"));
        return (json, content.Tensors.ToDictionary(t => t.Key, t => t.Value.clone()));
    }

    private string Write(JsonObject config, IReadOnlyDictionary<string, Tensor> tensors) => Write(config.ToJsonString(), tensors);

    private string Write(string configJson, IReadOnlyDictionary<string, Tensor> tensors)
    {
        string directory = Path.Combine(_dir, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "adapter_config.json"), configJson);
        Safetensors.Save(Path.Combine(directory, "adapter_model.safetensors"), tensors);
        return directory;
    }

    /// <summary>A directory PEFT itself wrote (tests/Flora.Tests/Peft/Fixtures) as JSON and tensors to mutate.</summary>
    internal static (JsonObject Config, Dictionary<string, Tensor> Tensors) Fixture(string name)
    {
        string directory = Path.Combine(RuleResNet.RepositoryRoot(), "tests", "Flora.Tests", "Peft", "Fixtures", name);
        var json = (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(directory, "adapter_config.json")))!;
        using var content = Safetensors.Load(Path.Combine(directory, "adapter_model.safetensors"));
        return (json, content.Tensors.ToDictionary(t => t.Key, t => t.Value.clone()));
    }

    /// <summary>AttachFromPeft fails with a message holding every fragment, and the model is bit-identical.</summary>
    internal static AdapterFileException AssertRefused(nn.Module model, string directory, params string[] fragments) =>
        AssertRefused(model, directory, null, fragments);

    private static AdapterFileException AssertRefused(nn.Module model, string directory, PeftImportOptions? options, params string[] fragments)
    {
        var snapshot = RuleResNet.Snapshot(model);
        var error = Assert.Throws<AdapterFileException>(() => FloraInjector.AttachFromPeft(model, directory, options));
        foreach (var fragment in fragments) Assert.Contains(fragment, error.Message);
        RuleResNet.AssertUnchanged(snapshot, model);
        return error;
    }

    private void RefusedOnResNet(Action<JsonObject, Dictionary<string, Tensor>> mutate, params string[] fragments)
    {
        var (config, tensors) = ValidLora();
        mutate(config, tensors);
        using var model = RuleResNet.Create();
        AssertRefused(model, Write(config, tensors), fragments);
    }

    private void RefusedOnFixture(string fixture, Action<JsonObject, Dictionary<string, Tensor>> mutate, params string[] fragments)
    {
        var (config, tensors) = Fixture(fixture);
        mutate(config, tensors);
        using var model = RuleResNet.Create();
        AssertRefused(model, Write(config, tensors), fragments);
    }

    public static TheoryData<string, string, string> ConfigRefusals => new()
    {
        { "peft_type", "\"IA3\"", "field 'peft_type' is \"IA3\"" },
        { "bias", "\"all\"", "field 'bias' is \"all\"" },
        { "bias", "\"lora_only\"", "field 'bias' is \"lora_only\"" },
        { "lora_bias", "true", "field 'lora_bias' is true" },
        { "fan_in_fan_out", "true", "field 'fan_in_fan_out' is true" },
        { "layers_to_transform", "[0, 1]", "field 'layers_to_transform' is [0,1]" },
        { "layers_pattern", "\"layer\"", "field 'layers_pattern' is \"layer\"" },
        { "target_parameters", "[\"fc.weight\"]", "field 'target_parameters' is [\"fc.weight\"]" },
        { "trainable_token_indices", "[1, 2]", "field 'trainable_token_indices' is [1,2]" },
        { "use_qalora", "true", "field 'use_qalora' is true" },
        { "layer_replication", "[[0, 1]]", "field 'layer_replication' is [[0,1]]" },
        { "target_modules", "\"all-linear\"", "field 'target_modules' is \"all-linear\"" },
        { "r", "0", "field 'r' is 0" },
        { "lora_alpha", "-1", "field 'lora_alpha' is -1" },
        { "rank_pattern", "{\"fc\": 0}", "field 'rank_pattern[\"fc\"]' is 0" },
        { "target_modules", "\"layer1\\\\.0\\\\.conv1(\"", "field 'target_modules' holds the pattern" },
    };

    [Theory]
    [MemberData(nameof(ConfigRefusals))]
    public void A_config_field_PEFT_computes_differently_is_refused_by_name(string field, string value, string message) =>
        RefusedOnResNet((config, _) => config[field] = JsonNode.Parse(value), "adapter_config.json", message);

    [Fact]
    public void A_rank_that_disagrees_with_r_and_rank_pattern_is_refused() =>
        RefusedOnResNet((config, _) => config["r"] = 5, "key 'r'", "'layer1.0.conv1' has rank 5", "has 4 rows");

    [Fact]
    public void An_adapter_that_target_modules_does_not_select_is_refused() =>
        RefusedOnResNet((config, _) => config["target_modules"] = @"layer1\.0\.conv1|layer3\.1\.conv2", "key 'target_modules'", "'layer2.0.downsample.0'");

    [Fact]
    public void A_target_the_file_lacks_is_refused() =>
        RefusedOnResNet((config, _) => config["target_modules"] = @"layer1\.0\.conv1|layer2\.0\.downsample\.0|layer3\.1\.conv2|layer4\.1\.conv2",
            "it selects 'layer4.1.conv2'", "holds no adapter for it");

    [Fact]
    public void A_target_that_is_not_a_Linear_or_convolution_is_refused() =>
        RefusedOnResNet((config, _) => config["target_modules"] = @"layer1\.0\.conv1|layer2\.0\.downsample\.0|layer3\.1\.conv2|layer1\.0\.bn1",
            "it selects 'layer1.0.bn1', a BatchNorm2d");

    [Fact]
    public void A_missing_tensor_is_refused_by_key() =>
        RefusedOnResNet((_, tensors) => tensors.Remove("base_model.model.layer1.0.conv1.lora_B.weight"),
            "key 'base_model.model.layer1.0.conv1.lora_B.weight'", "the tensor is missing");

    [Fact]
    public void A_wrong_shape_is_refused_by_key() =>
        RefusedOnResNet((_, tensors) => tensors["base_model.model.layer1.0.conv1.lora_A.weight"] = torch.zeros(4, 64, 1, 1),
            "key 'base_model.model.layer1.0.conv1.lora_A.weight'", "its shape is [4, 64, 1, 1] but the model needs [4, 64, 3, 3]");

    [Fact]
    public void A_non_finite_value_is_refused_by_key() =>
        RefusedOnResNet((_, tensors) => tensors["base_model.model.layer3.1.conv2.lora_B.weight"] = torch.full(256, 2, 1, 1, float.NaN),
            "key 'base_model.model.layer3.1.conv2.lora_B.weight'", "NaN");

    [Fact]
    public void A_saved_module_missing_a_tensor_is_refused() =>
        RefusedOnResNet((_, tensors) => tensors.Remove("base_model.model.fc.bias"), "key 'base_model.model.fc.bias'", "the tensor is missing");

    [Fact]
    public void An_embedding_adapter_without_its_B_is_refused_by_key() =>
        RefusedOnResNet((_, tensors) => tensors["base_model.model.embed.lora_embedding_A"] = torch.zeros(4, 10),
            "key 'base_model.model.embed.lora_embedding_B'", "the tensor is missing");

    [Fact]
    public void An_embeddings_lora_on_a_convolution_is_refused() =>
        RefusedOnResNet((_, tensors) =>
        {
            tensors["base_model.model.layer1.0.conv1.lora_embedding_A"] = tensors["base_model.model.layer1.0.conv1.lora_A.weight"].flatten(1);
            tensors["base_model.model.layer1.0.conv1.lora_embedding_B"] = tensors["base_model.model.layer1.0.conv1.lora_B.weight"].flatten(1);
            tensors.Remove("base_model.model.layer1.0.conv1.lora_A.weight");
            tensors.Remove("base_model.model.layer1.0.conv1.lora_B.weight");
        }, "'layer1.0.conv1' is a Conv2d", "lora_embedding_A/B");

    [Fact]
    public void A_lora_bias_tensor_is_refused() =>
        RefusedOnResNet((_, tensors) => tensors["base_model.model.layer1.0.conv1.lora_B.bias"] = torch.zeros(64),
            "key 'base_model.model.layer1.0.conv1.lora_B.bias'", "lora_bias");

    [Fact]
    public void A_tensor_of_no_target_and_no_module_to_save_is_refused() =>
        RefusedOnResNet((_, tensors) => tensors["base_model.model.layer1.0.conv1.weight"] = torch.zeros(64, 64, 3, 3),
            "key 'base_model.model.layer1.0.conv1.weight'", "neither a LoRA tensor");

    [Fact]
    public void A_key_without_PEFTs_prefix_is_refused() =>
        RefusedOnResNet((_, tensors) => tensors["layer1.0.conv1.lora_A.weight"] = torch.zeros(4, 64, 3, 3),
            "key 'layer1.0.conv1.lora_A.weight'", "base_model.model.");

    [Fact]
    public void DoRA_without_its_magnitudes_is_refused() =>
        RefusedOnResNet((config, _) => config["use_dora"] = true, "lora_magnitude_vector'", "use_dora is true");

    [Fact]
    public void A_missing_weights_file_is_an_AdapterFileException_naming_the_file()
    {
        var (config, _) = ValidLora();
        string directory = Path.Combine(_dir, "no-weights");
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "adapter_config.json"), config.ToJsonString());
        using var model = RuleResNet.Create();
        var error = AssertRefused(model, directory, "adapter_model.safetensors", "does not exist", "save_pretrained");
        Assert.IsType<FileNotFoundException>(error.InnerException);
    }

    [Fact]
    public void A_missing_config_or_directory_is_an_AdapterFileException_naming_it()
    {
        using var model = RuleResNet.Create();
        string missing = Path.Combine(_dir, "nowhere");
        var error = AssertRefused(model, missing, "nowhere", "the directory does not exist");
        Assert.IsType<DirectoryNotFoundException>(error.InnerException);
        Directory.CreateDirectory(missing);
        error = AssertRefused(model, missing, "adapter_config.json", "does not exist", "save_pretrained");
        Assert.IsType<FileNotFoundException>(error.InnerException);
    }

    [Fact]
    public void A_damaged_weights_file_is_an_AdapterFileException_that_keeps_the_format_error()
    {
        var (config, tensors) = ValidLora();
        string directory = Write(config, tensors);
        string weights = Path.Combine(directory, "adapter_model.safetensors");
        var bytes = File.ReadAllBytes(weights);
        File.WriteAllBytes(weights, bytes[..(bytes.Length / 2)]);
        using var model = RuleResNet.Create();
        var error = AssertRefused(model, directory, weights, "not a valid safetensors file");
        Assert.IsType<SafetensorsFormatException>(error.InnerException);
    }

    // ---- init_lora_weights: PEFT re-runs these initialisations when it loads the adapter and rewrites the base weights ----

    public static TheoryData<string, string, string> BaseRewritingInitialisations => new()
    {
        { "\"pissa\"", "PiSSA", "path_initial_model_for_weight_conversion" },
        { "\"pissa_niter_16\"", "PiSSA", "path_initial_model_for_weight_conversion" },
        { "\"olora\"", "OLoRA", "path_initial_model_for_weight_conversion" },
        { "\"OLoRA\"", "OLoRA", "path_initial_model_for_weight_conversion" },
        { "\"corda\"", "CorDA", "path_initial_model_for_weight_conversion" },
        { "\"loftq\"", "LoftQ", "quantised" },
    };

    [Theory]
    [MemberData(nameof(BaseRewritingInitialisations))]
    public void An_initialisation_PEFT_reruns_on_the_base_weights_at_load_is_refused(string value, string method, string fix) =>
        RefusedOnFixture("dora_patterns", (config, _) => config["init_lora_weights"] = JsonNode.Parse(value),
            "key 'init_lora_weights'", $"field 'init_lora_weights' is {value}", method, "rewrites the base weights", fix, "merge_and_unload");

    [Theory]
    [InlineData("\"xavier\"", "PEFT itself refuses it")]
    [InlineData("3", "true, false or the name")]
    public void An_initialisation_PEFT_does_not_know_is_refused(string value, string message) =>
        RefusedOnFixture("dora_patterns", (config, _) => config["init_lora_weights"] = JsonNode.Parse(value),
            "key 'init_lora_weights'", $"field 'init_lora_weights' is {value}", message);

    [Theory]
    [InlineData("true")]
    [InlineData("false")]
    [InlineData("\"gaussian\"")]
    [InlineData("\"eva\"")]
    [InlineData("\"orthogonal\"")]
    public void An_initialisation_the_file_overwrites_loads(string value)
    {
        var (config, tensors) = Fixture("lora_regex_save_fc");
        config["init_lora_weights"] = JsonNode.Parse(value);
        using var model = RuleResNet.Create();
        var attachment = FloraInjector.AttachFromPeft(model, Write(config, tensors));
        Assert.NotEmpty(attachment.Adapters);
    }

    [Fact]
    public void LoRA_GA_loads_as_PEFT_loads_it_with_a_warning_that_the_trained_base_differed()
    {
        var (config, tensors) = Fixture("lora_regex_save_fc");
        config["init_lora_weights"] = "lora_ga";
        var warnings = new List<string>();
        using var model = RuleResNet.Create();
        FloraInjector.AttachFromPeft(model, Write(config, tensors), new PeftImportOptions { OnWarning = warnings.Add });
        var warning = Assert.Single(warnings);
        Assert.Contains("init_lora_weights", warning);
        Assert.Contains("path_initial_model_for_weight_conversion", warning);
    }

    [Theory]
    [InlineData("r")]
    [InlineData("lora_alpha")]
    public void A_null_rank_or_alpha_is_refused_as_PEFT_refuses_it(string field) =>
        RefusedOnFixture("dora_patterns", (config, _) => config[field] = null, $"key '{field}'", $"field '{field}' is null", "PEFT");

    // ---- unclear exceptions ----

    [Fact]
    public void A_duplicate_key_in_adapter_config_is_refused_by_name()
    {
        var (config, tensors) = ValidLora();
        string json = config.ToJsonString();
        json = json.Insert(json.IndexOf("\"r\":", StringComparison.Ordinal), "\"r\":16,");
        using var model = RuleResNet.Create();
        AssertRefused(model, Write(json, tensors), "adapter_config.json", "key 'r'", "appears twice", "keep one");
    }

    [Fact]
    public void A_duplicate_key_inside_rank_pattern_is_refused_by_name()
    {
        var (config, tensors) = ValidLora();
        string json = config.ToJsonString();
        int at = json.IndexOf("\"rank_pattern\":{", StringComparison.Ordinal) + "\"rank_pattern\":{".Length;
        json = json.Insert(at, "\"fc\":2,\"fc\":3,");
        using var model = RuleResNet.Create();
        AssertRefused(model, Write(json, tensors), "key 'rank_pattern[\"fc\"]'", "appears twice");
    }

    /// <summary>A pattern whose matching backtracks exponentially in the name's length: five ways to take each character, then a '!' no name has.</summary>
    private const string Catastrophic = "(.|.|.|.|.)*!";

    [Fact]
    public void A_catastrophic_target_modules_regex_is_refused_by_field()
    {
        var (config, tensors) = ValidLora();
        config["target_modules"] = Catastrophic;
        using var model = RuleResNet.Create();
        AssertRefused(model, Write(config, tensors), "key 'target_modules'", Catastrophic, "took longer than", "nested");
    }

    [Fact]
    public void A_catastrophic_rank_pattern_key_is_refused_by_field()
    {
        var (config, tensors) = ValidLora();
        config["rank_pattern"] = new JsonObject { [Catastrophic] = 4 };
        using var model = RuleResNet.Create();
        AssertRefused(model, Write(config, tensors), $"key 'rank_pattern[\"{Catastrophic}\"]'", "took longer than");
    }

    [Fact]
    public void An_invalid_modules_to_save_regex_is_refused_by_field() =>
        RefusedOnResNet((config, _) => config["modules_to_save"] = new JsonArray("fc", "layer4("),
            "key 'modules_to_save'", "\"layer4(\"", "not a valid regular expression");

    [Fact]
    public void A_MapPath_that_maps_two_modules_onto_one_is_refused_by_name()
    {
        var (config, tensors) = ValidLora();
        using var model = RuleResNet.Create();
        var options = new PeftImportOptions { MapPath = p => p.StartsWith("layer", StringComparison.Ordinal) ? "layer1.0.conv1" : p };
        AssertRefused(model, Write(config, tensors), options, "PeftImportOptions.MapPath", "'layer1.0.conv1'", "'layer2.0.downsample.0'", "one module each");
    }

    [Fact]
    public void A_MapPath_that_returns_null_is_refused_by_name()
    {
        var (config, tensors) = ValidLora();
        using var model = RuleResNet.Create();
        var options = new PeftImportOptions { MapPath = p => p == "fc" ? null! : p };
        AssertRefused(model, Write(config, tensors), options, "PeftImportOptions.MapPath", "returned null for 'fc'");
    }

    // ---- fields PEFT does not know are dropped with a warning, as PEFT does; fields PEFT knows stay checked ----

    [Fact]
    public void A_field_PEFT_does_not_know_is_ignored_with_a_warning()
    {
        var (config, tensors) = ValidLora();
        config["use_quantum_lora"] = true;
        var warnings = new List<string>();
        using var model = RuleResNet.Create();
        var attachment = FloraInjector.AttachFromPeft(model, Write(config, tensors), new PeftImportOptions { OnWarning = warnings.Add });
        Assert.NotEmpty(attachment.Adapters);
        var warning = Assert.Single(warnings);
        Assert.Contains("'use_quantum_lora'", warning);
        Assert.Contains("adapter_config.json", warning);
        Assert.Contains("ignored", warning);
        attachment.Detach();
        FloraInjector.AttachFromPeft(model, Write(config, tensors)).Detach(); // no handler: ignored silently
    }

    [Theory]
    [InlineData("use_bdlora", "{\"nblocks\": 2}")]
    [InlineData("kasa_config", "{\"beta\": 0.0001}")]
    [InlineData("alora_invocation_tokens", "[1, 2]")]
    [InlineData("megatron_config", "{\"tensor_model_parallel_size\": 2}")]
    public void A_PEFT_field_that_changes_the_computation_is_still_refused(string field, string value) =>
        RefusedOnResNet((config, _) => config[field] = JsonNode.Parse(value), $"key '{field}'", "changes what the adapted model computes");

    // ---- messages ----

    [Fact]
    public void A_transposed_lora_A_is_blamed_on_the_tensor_not_on_r()
    {
        var (config, tensors) = ValidLora("rslora");
        tensors["base_model.model.fc.lora_A.weight"] = tensors["base_model.model.fc.lora_A.weight"].t().contiguous();
        using var model = RuleResNet.Create();
        AssertRefused(model, Write(config, tensors), "key 'base_model.model.fc.lora_A.weight'", "its shape is [512, 4]", "[4, 512]");
    }

    private static JsonObject SmallConfig() => new()
    {
        ["peft_type"] = "LORA", ["r"] = 2, ["lora_alpha"] = 2, ["target_modules"] = new JsonArray("conv"), ["bias"] = "none",
    };

    [Fact]
    public void A_dilated_convolution_target_is_refused_because_PEFT_drops_dilation()
    {
        using var model = nn.Sequential(("conv", nn.Conv2d(3, 4, 3, dilation: 2)));
        string directory = Write(SmallConfig(), new Dictionary<string, Tensor>
        {
            ["base_model.model.conv.lora_A.weight"] = torch.zeros(2, 3, 3, 3), ["base_model.model.conv.lora_B.weight"] = torch.zeros(4, 2, 1, 1),
        });
        AssertRefused(model, directory, "key 'base_model.model.conv.lora_A.weight'", "dilated convolution (dilation (2, 2))", "huggingface/peft#3697");
    }

    [Fact]
    public void A_grouped_convolution_target_is_refused()
    {
        using var model = nn.Sequential(("conv", nn.Conv2d(4, 4, 3, groups: 2)));
        string directory = Write(SmallConfig(), new Dictionary<string, Tensor>
        {
            ["base_model.model.conv.lora_A.weight"] = torch.zeros(2, 4, 3, 3), ["base_model.model.conv.lora_B.weight"] = torch.zeros(4, 1, 1, 1),
        });
        AssertRefused(model, directory, "'conv' is a grouped convolution (groups 2)");
    }

    [Fact]
    public void A_reflect_padded_convolution_target_is_refused()
    {
        using var model = nn.Sequential(("conv", nn.Conv2d(3, 4, 3, padding: 1, padding_mode: PaddingModes.Reflect)));
        string directory = Write(SmallConfig(), new Dictionary<string, Tensor>
        {
            ["base_model.model.conv.lora_A.weight"] = torch.zeros(2, 3, 3, 3), ["base_model.model.conv.lora_B.weight"] = torch.zeros(4, 2, 1, 1),
        });
        AssertRefused(model, directory, "pads with Reflect");
    }

    [Fact]
    public void SavePeft_refuses_BitFit_and_writes_nothing()
    {
        using var model = RuleResNet.Create();
        var attachment = FloraInjector.Attach(model, new FloraConfig { TargetModules = new[] { "fc" } }, FloraMethod.BitFit);
        string directory = Path.Combine(_dir, "bitfit");
        var error = Assert.Throws<InvalidOperationException>(() => attachment.SavePeft(directory));
        Assert.Contains("BitFit", error.Message);
        Assert.False(Directory.Exists(directory));
    }

    [Theory]
    [InlineData(FloraMethod.Flora)]
    [InlineData(FloraMethod.Lora)]
    public void SavePeft_refuses_a_grouped_convolution_and_writes_nothing(FloraMethod method)
    {
        using var model = nn.Sequential(("conv", nn.Conv2d(4, 8, 3, groups: 2)), ("head", nn.Conv2d(8, 2, 1)));
        var attachment = FloraInjector.Attach(model, new FloraConfig { TargetModules = new[] { "conv", "head" }, Defaults = new FloraModelOptions { Rank = 2, LoraRank = 2 } }, method);
        string directory = Path.Combine(_dir, "grouped");
        var error = Assert.Throws<InvalidOperationException>(() => attachment.SavePeft(directory));
        Assert.Contains("'conv' is a grouped convolution (groups 2)", error.Message);
        Assert.Empty(Directory.GetFileSystemEntries(_dir));
    }

    [Fact]
    public void SavePeft_refuses_a_dilated_convolution()
    {
        using var model = nn.Sequential(("conv", nn.Conv2d(3, 4, 3, dilation: 2)));
        var attachment = FloraInjector.Attach(model, new FloraConfig { TargetModules = new[] { "conv" }, Defaults = new FloraModelOptions { LoraRank = 2 } }, FloraMethod.Lora);
        var error = Assert.Throws<InvalidOperationException>(() => attachment.SavePeft(Path.Combine(_dir, "dilated")));
        Assert.Contains("huggingface/peft#3697", error.Message);
    }

    [Fact]
    public void SavePeft_refuses_modules_to_save_names_PEFT_would_match_more_widely()
    {
        using var model = RuleResNet.Create();
        var attachment = FloraInjector.Attach(model, new FloraConfig { TargetModules = new[] { "fc" }, ModulesToSave = new[] { "^bn1" }, Defaults = new FloraModelOptions { LoraRank = 2 } }, FloraMethod.Lora);
        var error = Assert.Throws<InvalidOperationException>(() => attachment.SavePeft(Path.Combine(_dir, "suffix")));
        Assert.Contains("modules_to_save entry 'bn1' would also make PEFT save 'layer1.0.bn1'", error.Message);
    }
}
