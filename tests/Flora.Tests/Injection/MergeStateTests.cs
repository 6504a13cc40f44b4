using System.IO;
using TorchSharp.Modules;

namespace Flora.Tests.Injection;

/// <summary>Merge state has one owner, the adapters: the attachment reads it, so an adapter merged on its own keeps both in step.</summary>
public class MergeStateTests
{
    private sealed class Net : nn.Module<Tensor, Tensor>
    {
        private readonly Conv2d conv1 = nn.Conv2d(3, 4, 3, padding: 1);
        private readonly Conv2d conv2 = nn.Conv2d(4, 4, 3, padding: 1);

        public Net() : base(nameof(Net)) => RegisterComponents();

        public override Tensor forward(Tensor input) => conv2.call(conv1.call(input));
    }

    private static FloraConfig Config => new() { TargetModules = new[] { "conv1", "conv2" }, Defaults = new FloraModelOptions { Rank = 2, R3 = 2 } };

    [Fact]
    public void An_adapter_merged_on_its_own_is_seen_by_the_attachment_save_refuses_and_detach_restores_the_base()
    {
        using var model = new Net();
        using var x = TestTensors.Randn(new long[] { 2, 3, 6, 6 }, seed: 3);
        var original = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        var attachment = FloraInjector.Attach(model, Config);
        var first = (FloraLayer)attachment.Adapters[0];
        using (no_grad()) first.Core.copy_(TestTensors.Randn(first.Core.shape, seed: 4));
        using var unmerged = model.call(x);

        first.Merge();
        Assert.True(attachment.IsMerged);
        string path = Path.Combine(Path.GetTempPath(), $"merge-state-{Guid.NewGuid():N}.safetensors");
        var error = Assert.Throws<InvalidOperationException>(() => attachment.Save(path));
        Assert.Contains("merged", error.Message);
        Assert.False(File.Exists(path));
        TestTensors.AssertClose(unmerged, model.call(x), 1e-5, 1e-5, "one adapter merged");

        attachment.Merge(); // merges the one not merged yet
        Assert.All(attachment.Adapters, a => Assert.True(a.IsMerged));
        Assert.Throws<InvalidOperationException>(() => attachment.Merge());
        TestTensors.AssertClose(unmerged, model.call(x), 1e-5, 1e-5, "all merged");

        attachment.Adapters[1].Unmerge();
        Assert.True(attachment.IsMerged); // the first one still is
        attachment.Detach();              // unmerges it first
        foreach (var (name, value) in model.state_dict())
            TestTensors.AssertClose(original[name], value, 1e-6, 1e-6, name);
    }
}
