using System.IO;

namespace Flora.Tests.Peft;

/// <summary>
/// TorchVision's ResNet-18 (10 classes) with base weights made by a rule that tools/peft/make_fixtures.py and
/// check_exports.py recompute in PyTorch: over the state dict's keys sorted by ordinal (num_batches_tracked left at 0),
/// tensor number k, flat element i, x = 0.37·i + k in float64: running_var 1 + 0.1·cos x, one-dimensional weights
/// (BatchNorm) 1 + 0.1·sin x, everything else 0.05·sin x, then cast to float32. The input is sin(0.11·j) over the flat
/// index j of a [2, 3, 32, 32] tensor.
/// </summary>
internal static class RuleResNet
{
    public static readonly long[] InputShape = { 2, 3, 32, 32 };

    /// <summary>A fresh ResNet-18 with the rule's base weights, in eval mode.</summary>
    public static nn.Module<Tensor, Tensor> Create()
    {
        var model = torchvision.models.resnet18(num_classes: 10);
        var state = model.state_dict();
        var keys = state.Keys.Where(k => !k.EndsWith("num_batches_tracked", StringComparison.Ordinal)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        var values = new Dictionary<string, Tensor>();
        for (int k = 0; k < keys.Count; k++)
        {
            string key = keys[k];
            Tensor tensor = state[key];
            var data = new float[tensor.numel()];
            bool variance = key.EndsWith("running_var", StringComparison.Ordinal);
            bool scale = tensor.dim() == 1 && key.EndsWith(".weight", StringComparison.Ordinal);
            for (long i = 0; i < data.Length; i++)
            {
                double x = 0.37 * i + k;
                data[i] = (float)(variance ? 1 + 0.1 * System.Math.Cos(x) : scale ? 1 + 0.1 * System.Math.Sin(x) : 0.05 * System.Math.Sin(x));
            }
            values[key] = torch.tensor(data).reshape(tensor.shape);
        }
        model.load_state_dict(values, strict: false);
        foreach (var value in values.Values) value.Dispose();
        model.eval();
        return model;
    }

    /// <summary>The rule's input.</summary>
    public static Tensor Input()
    {
        var data = new float[InputShape.Aggregate(1L, (a, b) => a * b)];
        for (int j = 0; j < data.Length; j++) data[j] = (float)System.Math.Sin(0.11 * j);
        return torch.tensor(data).reshape(InputShape);
    }

    /// <summary>Every tensor of the model's state dict, cloned.</summary>
    public static Dictionary<string, Tensor> Snapshot(nn.Module model) =>
        model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());

    /// <summary>Asserts that <paramref name="model"/> holds exactly <paramref name="snapshot"/> (same keys, bit-equal values) and no adapter.</summary>
    public static void AssertUnchanged(Dictionary<string, Tensor> snapshot, nn.Module model)
    {
        var now = model.state_dict();
        Assert.Equal(snapshot.Keys.OrderBy(k => k, StringComparer.Ordinal), now.Keys.OrderBy(k => k, StringComparer.Ordinal));
        foreach (var (key, value) in snapshot) TestTensors.AssertBitEqual(value, now[key], key);
        Assert.DoesNotContain(model.modules(), m => m is IFloraAdapter);
        Assert.All(model.parameters(), p => Assert.True(p.requires_grad));
    }

    /// <summary>max |a − b| / max |b|.</summary>
    public static double RelativeError(Tensor actual, Tensor expected)
    {
        using var difference = (actual - expected).abs().max();
        using var scale = expected.abs().max();
        return difference.item<float>() / scale.item<float>();
    }

    /// <summary>The repository's root (the folder holding Flora.Generated.sln), from the test's output folder.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Flora.Generated.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no Flora.Generated.sln above {AppContext.BaseDirectory}");
    }
}
