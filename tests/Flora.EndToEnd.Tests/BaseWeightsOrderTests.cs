using System.IO;
using TorchSharp.Modules;

namespace Flora.EndToEnd.Tests;

/// <summary>
/// README, "Your first model": base weights are loaded before AttachFlora(). Afterwards the base layers' keys move under
/// the adapters (<c>conv1.base_layer.weight</c>) and TorchSharp refuses the base model's state ("Mismatched state_dict
/// sizes"); detach, load, attach works, and so does loading into the base layer itself (<c>adapter.BaseLayer</c>).
/// </summary>
public sealed class BaseWeightsOrderTests
{
    private static Dictionary<string, Tensor> TrainedBase()
    {
        using var trained = new SmallCnn();
        using (no_grad())
        {
            foreach (var (_, parameter) in trained.named_parameters()) parameter.add_(0.25);
        }
        return trained.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
    }

    private static void AssertBaseEquals(Dictionary<string, Tensor> expected, SmallCnn model)
    {
        foreach (var (key, value) in model.state_dict())
            Assert.True(expected[key].equal(value).all().item<bool>(), key);
    }

    [Fact]
    public void Loading_base_weights_after_AttachFlora_fails_and_the_two_documented_ways_work()
    {
        using var scope = NewDisposeScope();
        var baseState = TrainedBase();
        string file = Path.Combine(Path.GetTempPath(), $"base-{Guid.NewGuid():N}.dat");
        try
        {
            using (var saver = new SmallCnn())
            {
                saver.load_state_dict(baseState);
                saver.save(file);
            }

            // Before AttachFlora: the way to do it.
            using (var model = new SmallCnn())
            {
                model.load(file);
                model.AttachFlora();
                model.DetachFlora();
                AssertBaseEquals(baseState, model);
            }

            using var late = new SmallCnn();
            var adapters = late.AttachFlora();
            Assert.Contains("conv1.base_layer.weight", late.state_dict().Keys);
            Assert.DoesNotContain("conv1.weight", late.state_dict().Keys);
            var error = Assert.ThrowsAny<Exception>(() => late.load(file));
            Assert.Contains("Mismatched state_dict sizes", error.Message);

            // Detach, load, attach.
            late.DetachFlora();
            late.load(file);
            late.AttachFlora();
            late.DetachFlora();
            AssertBaseEquals(baseState, late);

            // Into the base layers themselves, while attached.
            using var fresh = new SmallCnn();
            var attached = fresh.AttachFlora();
            foreach (var adapter in attached.All)
            {
                var prefix = adapter.Name + ".";
                adapter.BaseLayer.load_state_dict(baseState.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal))
                    .ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value));
            }
            fresh.DetachFlora();
            foreach (var (key, value) in fresh.state_dict().Where(kv => attached.All.Any(a => kv.Key.StartsWith(a.Name + ".", StringComparison.Ordinal))))
                Assert.True(baseState[key].equal(value).all().item<bool>(), key);
            GC.KeepAlive(adapters);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
