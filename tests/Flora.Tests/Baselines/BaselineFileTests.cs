using System.IO;
using Flora.Tests.Injection;

namespace Flora.Tests.Baselines;

/// <summary>Adapter files of LoRA, DoRA and BitFit: bit-exact round trips, and files of another method (bottleneck adapters too) refused untouched.</summary>
public sealed class BaselineFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flora-baselines-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (TinyNet Model, FloraAttachment Attachment) Trained(FloraMethod method, long seed, FloraModelOptions? options = null, TinyNet? sameBaseAs = null)
    {
        var model = new TinyNet();
        if (sameBaseAs is not null)
        {
            using var noGrad = torch.no_grad();
            foreach (var ((_, mine), (_, theirs)) in model.named_parameters().Zip(sameBaseAs.named_parameters())) mine.copy_(theirs);
        }
        var attachment = FloraInjector.Attach(model, TinyNet.Config(options), method);
        foreach (var (adapter, i) in attachment.Adapters.Select((a, i) => (a, i))) BaselineTensors.Randomise(adapter, seed + i);
        if (method != FloraMethod.BitFit)
        {
            // Move A as well, so that every tensor differs between the two models.
            using var noGrad = torch.no_grad();
            foreach (var adapter in attachment.Adapters.OfType<LoraLayer>()) adapter.LoraA.add_(TestTensors.Randn(adapter.LoraA.shape, seed + 500) * 0.1);
        }
        return (model, attachment);
    }

    private static Dictionary<string, Tensor> StateOf(nn.Module model) =>
        model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());

    public static TheoryData<FloraMethod, string[]> RoundTrips() => new()
    {
        { FloraMethod.Lora, new[] { "conv1.lora_A", "conv1.lora_B", "dw.lora_A", "head.lora_B" } },
        { FloraMethod.Dora, new[] { "conv1.lora_A", "conv1.lora_B", "conv1.magnitude", "seq.pw.magnitude" } },
        { FloraMethod.BitFit, new[] { "conv1.bias", "dw.bias", "seq.pw.bias", "blocks.0.bias", "head.bias" } },
    };

    [Theory]
    [MemberData(nameof(RoundTrips))]
    public void Save_then_load_round_trips_bit_exactly(FloraMethod method, string[] keys)
    {
        using var baseModel = new TinyNet();
        var (source, saved) = Trained(method, seed: 1, sameBaseAs: baseModel);
        string path = Path.Combine(_dir, $"{method}.safetensors");
        saved.Save(path);

        using (var content = Safetensors.Load(path))
        {
            foreach (var key in keys) Assert.Contains(key, content.Tensors.Keys);
            Assert.All(content.Tensors.Keys, k => Assert.DoesNotContain("base_layer", k));
            Assert.Equal(saved.TrainableParameters, content.Tensors.Values.Sum(t => t.numel()));
        }
        var config = AdapterFile.ReadConfig(path);
        Assert.Equal(method.ToString().ToLowerInvariant(), config.Method);
        Assert.Equal(TinyNet.TargetNames, config.Targets.Select(t => t.Name));

        var (target, loaded) = Trained(method, seed: 50, sameBaseAs: baseModel);
        loaded.Load(path);
        foreach (var (a, b) in saved.Adapters.Zip(loaded.Adapters))
            foreach (var (ta, tb) in a.AdapterTensors.Zip(b.AdapterTensors))
                TestTensors.AssertBitEqual(ta.Tensor, tb.Tensor, $"{method} {a.Name}.{ta.Key}");
        using var x = TestTensors.Randn(new long[] { 2, 3, 12, 12 }, seed: 3);
        source.eval();
        target.eval();
        TestTensors.AssertBitEqual(source.forward(x), target.forward(x), $"{method} outputs after load");
        source.Dispose();
        target.Dispose();
    }

    public static TheoryData<FloraMethod, FloraMethod> CrossMethods() => new()
    {
        { FloraMethod.Lora, FloraMethod.Flora },
        { FloraMethod.Flora, FloraMethod.Lora },
        { FloraMethod.Dora, FloraMethod.Lora },
        { FloraMethod.BitFit, FloraMethod.Dora },
        { FloraMethod.Houlsby, FloraMethod.Pfeiffer },
        { FloraMethod.Pfeiffer, FloraMethod.Houlsby },
        { FloraMethod.Houlsby, FloraMethod.Lora },
        { FloraMethod.Lora, FloraMethod.Pfeiffer },
    };

    [Theory]
    [MemberData(nameof(CrossMethods))]
    public void A_file_of_another_method_is_refused_and_the_model_stays_bit_identical(FloraMethod saved, FloraMethod attached)
    {
        var (source, savedAttachment) = Trained(saved, seed: 2);
        string path = Path.Combine(_dir, $"{saved}.safetensors");
        savedAttachment.Save(path);

        var (model, attachment) = Trained(attached, seed: 70);
        var before = StateOf(model);
        var error = Assert.Throws<AdapterFileException>(() => attachment.Load(path));
        Assert.Contains(path, error.Message);
        Assert.Contains($"FloraMethod.{saved}", error.Message);
        Assert.Contains($"has {attached.ToString().ToLowerInvariant()} attached", error.Message);
        foreach (var (key, value) in StateOf(model)) TestTensors.AssertBitEqual(before[key], value, key);
        source.Dispose();
        model.Dispose();
    }

    [Fact]
    public void A_LoRA_file_with_another_alpha_is_refused()
    {
        var (source, saved) = Trained(FloraMethod.Lora, seed: 4, new FloraModelOptions { Rank = 4, R3 = 2, LoraAlpha = 8 });
        string path = Path.Combine(_dir, "alpha8.safetensors");
        saved.Save(path);
        var (model, attachment) = Trained(FloraMethod.Lora, seed: 5);
        var before = StateOf(model);
        var error = Assert.Throws<AdapterFileException>(() => attachment.Load(path));
        Assert.Contains("key 'conv1'", error.Message);
        Assert.Contains("Attach with the same ranks and scale", error.Message);
        foreach (var (key, value) in StateOf(model)) TestTensors.AssertBitEqual(before[key], value, key);
        source.Dispose();
        model.Dispose();
    }
}
