using System.Text.Json.Nodes;

namespace Flora.Tests.Peft;

/// <summary>PEFT's selection rules, as its sources state them (tuners_utils.check_target_module_exists, other.get_pattern_key, other._set_trainable).</summary>
public sealed class PeftMatchingTests
{
    private static PeftAdapterConfig Config(string json) => PeftAdapterConfig.Parse("adapter_config.json", (JsonObject)JsonNode.Parse(json)!);

    [Fact]
    public void A_target_list_matches_names_and_dotted_suffixes_a_string_the_whole_name()
    {
        var list = Config("""{"peft_type":"LORA","target_modules":["conv1","downsample.0"]}""");
        Assert.True(PeftMatching.IsTarget(list, "conv1"));
        Assert.True(PeftMatching.IsTarget(list, "layer3.1.conv1"));
        Assert.True(PeftMatching.IsTarget(list, "layer2.0.downsample.0"));
        Assert.False(PeftMatching.IsTarget(list, "layer1.0.xconv1"));
        var regex = Config("""{"peft_type":"LORA","target_modules":"layer1\\.0\\.conv1|fc"}""");
        Assert.True(PeftMatching.IsTarget(regex, "fc"));
        Assert.False(PeftMatching.IsTarget(regex, "layer1.0.conv12"));
        Assert.False(PeftMatching.IsTarget(regex, "x.fc"));
    }

    [Fact]
    public void Excluded_modules_and_modules_inside_a_module_to_save_are_no_targets()
    {
        var config = Config("""{"peft_type":"LORA","target_modules":["conv1","conv"],"exclude_modules":"layer4\\..*","modules_to_save":["layer2"]}""");
        Assert.False(PeftMatching.IsTarget(config, "layer4.0.conv1"));
        Assert.False(PeftMatching.IsTarget(config, "layer2.0.conv1"));
        Assert.True(PeftMatching.IsTarget(config, "layer3.0.conv1"));
        Assert.True(PeftMatching.SavesModule("bn1", "layer1.0.bn1"));
        Assert.True(PeftMatching.SavesModule("bn1", "layer1.0.xbn1"));
    }

    [Fact]
    public void Rank_and_alpha_patterns_take_the_first_key_that_matches_at_the_end_of_the_name()
    {
        var config = Config("""{"peft_type":"LORA","r":2,"lora_alpha":4,"target_modules":["conv1"],"rank_pattern":{"^conv1":3,"layer3\\.\\d\\.conv1":1,"conv1":5},"alpha_pattern":{"downsample.0":3}}""");
        Assert.Equal(3, PeftMatching.RankSource(config, "conv1").Rank);
        Assert.Equal(1, PeftMatching.RankSource(config, "layer3.1.conv1").Rank);
        Assert.Equal(5, PeftMatching.RankSource(config, "layer1.0.conv1").Rank);
        Assert.Equal(2, PeftMatching.RankSource(config, "layer1.0.conv2").Rank);
        Assert.Equal(3, PeftMatching.AlphaFor(config, "layer2.0.downsample.0"));
        Assert.Equal(4, PeftMatching.AlphaFor(config, "layer2.0.downsample.1"));
        Assert.Equal(@"^layer1\.0\.conv1", PeftMatching.ExactPatternKey("layer1.0.conv1"));
    }

    [Fact]
    public void Fields_that_only_shape_training_are_accepted()
    {
        var config = Config("""
            {"peft_type":"LORA","task_type":null,"r":4,"lora_alpha":8,"lora_dropout":0.1,"init_lora_weights":"gaussian","inference_mode":true,
             "target_modules":["fc"],"megatron_core":"megatron.core","qalora_group_size":16,"use_qalora":false,"loftq_config":{},"runtime_config":{"ephemeral_gpu_offload":false},
             "layers_to_transform":null,"target_parameters":[],"peft_version":"0.18.0","modules_to_save":null}
            """);
        Assert.Equal(4, config.R);
        Assert.Empty(config.ModulesToSave);
    }
}
