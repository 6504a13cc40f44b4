using System.IO;

namespace Flora.Tests.Peft;

/// <summary>
/// PEFT interop of an Embedding target on the rule-made token model (<see cref="RuleTokens"/>): the directory PEFT itself
/// wrote (Fixtures/tokens_lora_embedding, tokens_dora_embedding) loads with PEFT's output, and Flora's exports (LoRA and
/// DoRA as they are, FLoRA as its exact LoRA) load back; with FLORA_PEFT_EXPORTS set they are left there for
/// check_exports.py.
/// </summary>
public sealed class EmbeddingPeftTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flora-embedding-peft-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string> Fixtures => new(RuleTokens.FixtureNames);

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void PEFTs_embedding_fixture_loads_onto_the_token_model_with_PEFTs_output(string fixture)
    {
        string directory = Path.Combine(RuleResNet.RepositoryRoot(), "tests", "Flora.Tests", "Peft", "Fixtures", fixture);
        Assert.True(File.Exists(Path.Combine(directory, "adapter_config.json")),
            $"The PEFT-made fixture {fixture} is missing under {Path.GetDirectoryName(directory)}. Make it with " +
            "`OUT=/tmp/peft-out bash tools/peft/run-on-gpu-machine.sh` on a machine with PyTorch (.peft/ copied there) and copy $OUT/Fixtures/* there.");
        using var model = RuleTokens.Create();
        var baseState = RuleResNet.Snapshot(model);
        var attachment = FloraInjector.AttachFromPeft(model, directory);
        if (fixture.Contains("dora", StringComparison.Ordinal))
        {
            Assert.IsType<DoraEmbedding>(attachment["emb"]);
        }
        else
        {
            Assert.IsType<LoraEmbedding>(attachment["emb"]);
            Assert.IsType<LoraLinear>(attachment["head"]);
        }
        using var expected = Safetensors.Load(Path.Combine(directory, "expected_output.safetensors"));
        using var output = model.forward(expected.Tensors["input"]);
        double error = RuleResNet.RelativeError(output, expected.Tensors["output"]);
        Assert.True(error <= 1e-5, $"relative error {error:G3} against PEFT's output");
        attachment.Detach();
        var now = model.state_dict();
        foreach (var (key, value) in baseState) TestTensors.AssertBitEqual(value, now[key], key);
    }

    [Theory]
    [InlineData(FloraMethod.Lora)]
    [InlineData(FloraMethod.Dora)]
    [InlineData(FloraMethod.Flora)]
    public void An_embedding_export_loads_back_onto_a_fresh_token_model(FloraMethod method)
    {
        using var model = RuleTokens.Create();
        var config = new FloraConfig
        {
            TargetModules = new[] { "emb", "head" },
            Defaults = new FloraModelOptions { Rank = 4, Scale = 0.5, LoraRank = 3, LoraAlpha = 6 },
        };
        var attachment = FloraInjector.Attach(model, config, method);
        using (no_grad())
            foreach (var (key, tensor) in attachment.Adapters.SelectMany(a => a.AdapterTensors))
            {
                using var noise = TestTensors.Randn(tensor.shape, seed: 300 + key.Length);
                tensor.add_(noise * 0.1);
            }
        using var x = RuleTokens.Input();
        using var expected = model.forward(x);
        using (var baseOutput = Disabled(attachment, model, x))
            Assert.True(RuleResNet.RelativeError(baseOutput, expected) > 1e-3, "the perturbed adapters change the output");

        string scenario = "tokens_" + method.ToString().ToLowerInvariant();
        string directory = Path.Combine(_dir, scenario);
        attachment.SavePeft(directory);
        PeftRoundTripTests.ExportForPeft(directory, scenario, x, expected);

        using var fresh = RuleTokens.Create();
        var loaded = FloraInjector.AttachFromPeft(fresh, directory);
        Assert.IsType(method == FloraMethod.Dora ? typeof(DoraEmbedding) : typeof(LoraEmbedding), loaded["emb"]);
        using var reloaded = fresh.forward(x);
        double error = RuleResNet.RelativeError(reloaded, expected);
        Assert.True(error <= (method == FloraMethod.Flora ? 1e-5 : 1e-6), $"{scenario}: relative error {error:G3}");
    }

    private static Tensor Disabled(FloraAttachment attachment, nn.Module<Tensor, Tensor> model, Tensor x)
    {
        using (attachment.Disable()) return model.forward(x);
    }
}
