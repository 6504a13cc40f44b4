using System.IO;

namespace Flora.Tests.Peft;

/// <summary>
/// Directories PEFT itself wrote (tools/peft/make_fixtures.py, see Fixtures/README.md) load with AttachFromPeft onto
/// TorchSharp's ResNet-18 with the same rule-made base weights and give PEFT's outputs (the token model's fixtures,
/// <c>tokens_*</c>, load in <see cref="EmbeddingPeftTests"/>, the attention model's, <c>attention_*</c>, in
/// <see cref="MultiheadAttentionPeftTests"/>).
/// </summary>
public sealed class PeftFixtureTests
{
    /// <summary>The configurations make_fixtures.py writes; each must be committed under Fixtures/.</summary>
    private static readonly string[] Expected = { AdaLoraFixtureTests.Name, "dora_fc_conv", "dora_patterns", "lora_regex_save_fc", "multi_lora_dora", "rslora_fc_conv_save_bn1" };

    private static string FixturesRoot => Path.Combine(RuleResNet.RepositoryRoot(), "tests", "Flora.Tests", "Peft", "Fixtures");

    private static IEnumerable<string> FixtureNames() =>
        Directory.GetDirectories(FixturesRoot).Where(d => File.Exists(Path.Combine(d, "adapter_config.json"))).Select(Path.GetFileName)
            .Where(n => !n!.StartsWith("tokens_", StringComparison.Ordinal) && !n.StartsWith("attention_", StringComparison.Ordinal)) // other rule-made models'
            .Order(StringComparer.Ordinal)!;

    public static TheoryData<string> Fixtures => new(FixtureNames());

    [Fact]
    public void Every_fixture_PEFT_makes_is_committed()
    {
        var missing = Expected.Except(FixtureNames()).ToList();
        Assert.True(missing.Count == 0,
            $"PEFT-made fixtures missing under {FixturesRoot}: {string.Join(", ", missing)}. Make them with " +
            "`OUT=/tmp/peft-out bash tools/peft/run-on-gpu-machine.sh` on a machine with PyTorch (.peft/ copied there) and copy $OUT/Fixtures/* there.");
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void A_PEFT_made_directory_loads_onto_TorchSharps_ResNet18_with_PEFTs_outputs(string fixture)
    {
        string directory = Path.Combine(FixturesRoot, fixture);
        using var model = RuleResNet.Create();
        var baseState = RuleResNet.Snapshot(model);
        var attachment = FloraInjector.AttachFromPeft(model, directory);
        Assert.NotEmpty(attachment.Adapters);
        using var expected = Safetensors.Load(Path.Combine(directory, "expected_output.safetensors"));
        using var output = model.forward(expected.Tensors["input"]);
        double error = RuleResNet.RelativeError(output, expected.Tensors["output"]);
        Assert.True(error <= 1e-4, $"{fixture}: relative error {error:G3} against PEFT's output");
        attachment.Detach();
        RuleResNet.AssertUnchanged(baseState, model);
    }
}
