using System.IO;
using Flora;
using TorchSharp.Modules;

namespace Flora.EndToEnd.Tests;

/// <summary>
/// An annotated model with a MultiheadAttention target, through the generator: the typed <see cref="FloraMultiheadAttention"/>,
/// the constant count (both projections) against the runtime's, training, the adapter file and detach.
/// </summary>
public sealed class AttentionModelTests : IDisposable
{
    // embed [50, 16]: OutRank 6, Rank 4: 6·4 + 50·6 + 16·4. attn, E = 16: in_proj [48, 16] at 6, 4: 6·4 + 48·6 + 16·4, and
    // out_proj [16, 16]: 6·4 + 16·6 + 16·4. head [3, 16]: r_out clamped to 3 (inherited), r_in 4: 3·4 + 3·3 + 16·4.
    private const long Expected = (6 * 4 + 50 * 6 + 16 * 4) + (6 * 4 + 48 * 6 + 16 * 4) + (6 * 4 + 16 * 6 + 16 * 4) + (3 * 4 + 3 * 3 + 16 * 4);

    private readonly string _dir = Directory.CreateTempSubdirectory("flora-e2e-attention-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Tensor Tokens()
    {
        using var generator = new torch.Generator(25);
        return torch.randint(0, 50, new long[] { 8, 6 }, generator: generator);
    }

    private static Dictionary<string, Tensor> Snapshot(nn.Module model) => model.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());

    private static bool SameAs(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    [Fact]
    public void The_attention_model_attaches_counts_trains_saves_loads_and_detaches()
    {
        Assert.Equal(Expected, AttentionClassifier.FloraTrainableParameters);
        using var model = new AttentionClassifier();
        var baseWeights = Snapshot(model);
        using var ids = Tokens();
        using var baseOutput = model.forward(ids);

        AttentionClassifier.FloraAdapters adapters = model.AttachFlora();
        FloraMultiheadAttention attn = adapters.Attn;
        Assert.Equal("attn", attn.Path);
        var (inDelta, outDelta) = attn.Delta();
        Assert.Equal(new long[] { 48, 16 }, inDelta.shape);
        Assert.Equal(new long[] { 16, 16 }, outDelta.shape);
        Assert.Equal(new[] { "embed", "attn.in_proj", "attn.out_proj", "head" }, adapters.All.Select(a => a.Name));
        Assert.Equal(AttentionClassifier.FloraTrainableParameters, adapters.TrainableParameters);
        Assert.Equal(adapters.TrainableParameters, model.FloraParameters().Sum(p => p.numel()));
        using (var attached = model.forward(ids)) Assert.True(SameAs(baseOutput, attached), "G = 0: the attached model starts as the base model");

        using var labels = torch.tensor(new long[] { 0, 1, 2, 0, 1, 2, 0, 1 });
        var optimizer = torch.optim.Adam(model.FloraParameters(), lr: 0.05);
        var losses = new List<double>();
        for (int step = 0; step < 6; step++)
        {
            optimizer.zero_grad();
            using var loss = torch.nn.functional.cross_entropy(model.forward(ids), labels);
            loss.backward();
            optimizer.step();
            losses.Add(loss.item<float>());
        }
        Assert.True(losses[^1] < losses[0], "loss " + string.Join(" → ", losses));
        using (var inUpdate = attn.Delta().InProjection) Assert.True(inUpdate.abs().sum().item<float>() > 0, "in_proj trained");

        string path = Path.Combine(_dir, "attention.flora.safetensors");
        model.SaveFlora(path);
        using var trained = model.forward(ids);
        using (var fresh = new AttentionClassifier())
        {
            fresh.load_state_dict(baseWeights);
            fresh.AttachFlora();
            fresh.LoadFlora(path);
            using var reloaded = fresh.forward(ids);
            Assert.True(SameAs(trained, reloaded), "reloaded output");
        }

        model.DetachFlora();
        Assert.Contains(model.named_children(), c => c.name == "attn" && c.module is MultiheadAttention);
        var restored = model.state_dict();
        Assert.Equal(baseWeights.Keys.Order(), restored.Keys.Order());
        Assert.All(baseWeights, p => Assert.True(SameAs(p.Value, restored[p.Key]), p.Key));
        using var detached = model.forward(ids);
        Assert.True(SameAs(baseOutput, detached), "detached output");
    }

    [Fact]
    public void The_typed_property_is_a_clear_error_under_LoRA_and_the_adapters_follow_a_move()
    {
        using var model = new AttentionClassifier();
        using var ids = Tokens();
        var lora = model.AttachFlora(FloraMethod.Lora);
        var error = Assert.Throws<InvalidOperationException>(() => lora.Attn);
        Assert.Contains("'attn' is a MultiheadAttention whose projections have a Lora adapter", error.Message);
        Assert.Contains("FloraAdapters.All", error.Message);
        model.DetachFlora();

        // The wrapper keeps the projection weights in fields: after a conversion it computes with the converted ones.
        var adapters = model.AttachFlora();
        using var single = model.forward(ids);
        model.to(ScalarType.Float64);
        using var converted = model.forward(ids);
        Assert.Equal(ScalarType.Float64, converted.dtype);
        Assert.True(converted.allclose(single.to(ScalarType.Float64), rtol: 1e-5, atol: 1e-6), "float64 output");
        Assert.Equal(ScalarType.Float64, adapters.Attn.Delta().OutProjection.dtype);
    }
}
