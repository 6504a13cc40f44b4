using System.IO;
using Flora;
using TorchSharp.Modules;

namespace Flora.EndToEnd.Tests;

/// <summary>An annotated model with an Embedding target, through the generator: typed adapter, constant count, training, files.</summary>
public sealed class EmbeddingModelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flora-e2e-embedding-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Tensor Ids(long seed)
    {
        using var generator = new torch.Generator((ulong)seed);
        return torch.randint(0, 50, new long[] { 8, 5 }, generator: generator);
    }

    [Fact]
    public void The_embedding_model_attaches_counts_trains_saves_and_loads()
    {
        // tokens [50, 16]: OutRank 6 on num_embeddings, Rank 4 on the dim: 6·4 + 50·6 + 16·4; head [3, 16]: r = 3 (clamped, inherited), 4: 3·4 + 3·3 + 16·4.
        const long expected = (6 * 4 + 50 * 6 + 16 * 4) + (3 * 4 + 3 * 3 + 16 * 4);
        Assert.Equal(expected, TokenClassifier.FloraTrainableParameters);
        using var model = new TokenClassifier();
        var baseWeights = model.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());
        TokenClassifier.FloraAdapters adapters = model.AttachFlora();
        FloraEmbedding tokens = adapters.Tokens;
        Assert.Equal(new[] { 6, 4 }, tokens.Config.Ranks);
        Assert.Equal(new long[] { 50, 16 }, tokens.Delta().shape);
        Assert.Equal(TokenClassifier.FloraTrainableParameters, adapters.TrainableParameters);
        Assert.Equal(adapters.TrainableParameters, model.FloraParameters().Sum(p => p.numel()));

        using var ids = Ids(1);
        using var labels = torch.tensor(new long[] { 0, 1, 2, 0, 1, 2, 0, 1 });
        var optimizer = torch.optim.Adam(model.FloraParameters(), lr: 0.05);
        double first = 0, last = 0;
        for (int step = 0; step < 5; step++)
        {
            optimizer.zero_grad();
            using var loss = torch.nn.functional.cross_entropy(model.forward(ids), labels);
            loss.backward();
            optimizer.step();
            if (step == 0) first = loss.item<float>();
            last = loss.item<float>();
        }
        Assert.True(last < first, $"loss {first} → {last}");
        Assert.Equal(FloraForwardPath.Factorised, tokens.LastPath);

        string path = Path.Combine(_dir, "tokens.flora.safetensors");
        model.SaveFlora(path);
        using var trained = model.forward(ids);
        using var fresh = new TokenClassifier();
        fresh.load_state_dict(baseWeights);
        fresh.AttachFlora();
        fresh.LoadFlora(path);
        using var reloaded = fresh.forward(ids);
        Assert.True(trained.eq(reloaded).all().item<bool>(), "reloaded output");
    }
}
