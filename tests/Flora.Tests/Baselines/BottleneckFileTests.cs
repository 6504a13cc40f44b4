using System.IO;
using Flora.Tests.Files;
using Flora.Tests.Peft;

namespace Flora.Tests.Baselines;

/// <summary>Adapter files of Houlsby and Pfeiffer adapters: bit-exact round trips, and damaged files refused with the model bit-identical.</summary>
public sealed class BottleneckFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flora-bottleneck-files-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (KindsNet Model, FloraAttachment Attachment) Trained(FloraMethod method, long seed, KindsNet? sameBaseAs = null)
    {
        var model = new KindsNet();
        if (sameBaseAs is not null) model.load_state_dict(RuleResNet.Snapshot(sameBaseAs));
        model.eval();
        var attachment = FloraInjector.Attach(model, KindsNet.Config(), method);
        foreach (var (adapter, i) in attachment.Adapters.Select((a, i) => (a, i))) BaselineTensors.Randomise(adapter, seed + i);
        return (model, attachment);
    }

    public static TheoryData<FloraMethod> Methods() => new() { FloraMethod.Houlsby, FloraMethod.Pfeiffer };

    [Theory]
    [MemberData(nameof(Methods))]
    public void Save_then_load_round_trips_bit_exactly(FloraMethod method)
    {
        using var baseModel = new KindsNet();
        var (source, saved) = Trained(method, seed: 1, sameBaseAs: baseModel);
        string path = Path.Combine(_dir, $"{method}.safetensors");
        saved.Save(path);

        using (var content = Safetensors.Load(path))
        {
            foreach (var key in new[] { "b3.conv.adapter_down.weight", "b2.conv2.adapter_up.weight", "b1.conv.adapter_down.bias", "fc.adapter_up.bias" })
                Assert.Contains(key, content.Tensors.Keys);
            Assert.All(content.Tensors.Keys, k => Assert.DoesNotContain("base_layer", k));
            Assert.Equal(saved.TrainableParameters, content.Tensors.Values.Sum(t => t.numel()));
        }
        var config = AdapterFile.ReadConfig(path);
        Assert.Equal(method.ToString().ToLowerInvariant(), config.Method);
        Assert.Equal(saved.Adapters.Select(a => a.Name), config.Targets.Select(t => t.Name));
        Assert.Equal(saved.Adapters.Cast<BottleneckAdapterLayer>().Select(a => new[] { a.Size }), config.Targets.Select(t => t.Ranks));
        Assert.All(config.Targets, t => Assert.Equal(1.0, t.Scale));

        var (target, loaded) = Trained(method, seed: 50, sameBaseAs: baseModel);
        loaded.Load(path);
        foreach (var (a, b) in saved.Adapters.Zip(loaded.Adapters))
            foreach (var (ta, tb) in a.AdapterTensors.Zip(b.AdapterTensors))
                TestTensors.AssertBitEqual(ta.Tensor, tb.Tensor, $"{method} {a.Name}.{ta.Key}");
        using var x = KindsNet.Input(seed: 3);
        TestTensors.AssertBitEqual(source.forward(x), target.forward(x), $"{method} outputs after load");
        source.Dispose();
        target.Dispose();
    }

    public static TheoryData<FloraMethod, string, string> BadFiles()
    {
        var data = new TheoryData<FloraMethod, string, string>();
        foreach (var method in new[] { FloraMethod.Houlsby, FloraMethod.Pfeiffer })
            foreach (var bad in new[] { "missing key", "wrong shape", "NaN values", "another width", "another method" })
                data.Add(method, bad, bad switch
                {
                    "missing key" => "b2.conv2.adapter_up.weight",
                    "wrong shape" => "fc.adapter_down.weight",
                    "NaN values" => "b1.conv.adapter_up.bias",
                    "another width" => "b3.conv",
                    _ => method == FloraMethod.Houlsby ? "FloraMethod.Pfeiffer" : "FloraMethod.Houlsby",
                });
        return data;
    }

    private static byte[] Corrupt(byte[] file, FloraMethod method, string bad) => bad switch
    {
        "missing key" => AdapterFileTests.Rewrite(file, (t, _) => t.Remove("b2.conv2.adapter_up.weight")),
        "wrong shape" => AdapterFileTests.Rewrite(file, (t, _) => t["fc.adapter_down.weight"] = torch.zeros(2, 2)),
        "NaN values" => AdapterFileTests.Rewrite(file, (t, _) =>
        {
            var values = t["b1.conv.adapter_up.bias"].clone();
            values[0] = torch.tensor(double.NaN);
            t["b1.conv.adapter_up.bias"] = values;
        }),
        // b3.conv's width is the first target's "ranks" in the configuration.
        "another width" => AdapterFileTests.Rewrite(file, (_, m) =>
        {
            int at = m["flora"].IndexOf("\"ranks\":[", StringComparison.Ordinal);
            int end = m["flora"].IndexOf(']', at);
            m["flora"] = m["flora"][..at] + "\"ranks\":[1" + m["flora"][end..];
        }),
        _ => AdapterFileTests.Rewrite(file, (_, m) => m["flora"] = m["flora"].Replace(
            $"\"method\":\"{method.ToString().ToLowerInvariant()}\"", $"\"method\":\"{(method == FloraMethod.Houlsby ? "pfeiffer" : "houlsby")}\"")),
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void A_damaged_file_is_refused_with_its_key_and_the_model_stays_bit_identical(FloraMethod method, string bad, string expectedInMessage)
    {
        var (source, saved) = Trained(method, seed: 2);
        string good = Path.Combine(_dir, "good.safetensors");
        saved.Save(good);
        string path = Path.Combine(_dir, bad.Replace(' ', '-') + ".safetensors");
        File.WriteAllBytes(path, Corrupt(File.ReadAllBytes(good), method, bad));

        var (model, attachment) = Trained(method, seed: 60);
        var before = RuleResNet.Snapshot(model);
        var error = Assert.Throws<AdapterFileException>(() => attachment.Load(path));
        Assert.Contains(path, error.Message);
        Assert.Contains(expectedInMessage, error.Message);
        foreach (var (key, value) in model.state_dict()) TestTensors.AssertBitEqual(before[key], value, key);

        source.Dispose();
        model.Dispose();
        // A file relabelled to the other method still describes adapters AttachFromFile can build; every other damage is
        // refused there too, and a fresh base model is left exactly as it was.
        if (bad == "another method") return;
        using var fresh = new KindsNet();
        var freshState = RuleResNet.Snapshot(fresh);
        var names = fresh.named_modules().Select(m => m.name).ToList();
        Assert.Throws<AdapterFileException>(() => FloraInjector.AttachFromFile(fresh, path));
        Assert.Equal(names, fresh.named_modules().Select(m => m.name).ToList());
        RuleResNet.AssertUnchanged(freshState, fresh);
    }
}
