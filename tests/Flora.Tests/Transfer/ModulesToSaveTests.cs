using System.IO;
using TorchSharp.Modules;
using Flora.Tests.Files;
using Flora.Tests.Injection;

namespace Flora.Tests.Transfer;

/// <summary>Modules to save (PEFT's modules_to_save): a new head and BatchNorm layers that train fully and travel in the adapter file.</summary>
public sealed class ModulesToSaveTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flora-save-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Tensor Input(long seed) => TestTensors.Randn(new long[] { 6, 3, 8, 8 }, seed);

    private static Dictionary<string, Tensor> StateOf(nn.Module model) =>
        model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());

    /// <summary>A few AdamW steps in train mode on a fixed regression target: adapters, head and BatchNorm statistics all move.</summary>
    private static void Train(nn.Module<Tensor, Tensor> model, FloraAttachment attachment, int steps = 4)
    {
        model.train();
        using var optimizer = new FloraAdamW(attachment.Parameters(), learningRate: 5e-2);
        for (int step = 0; step < steps; step++)
        {
            using var scope = torch.NewDisposeScope();
            optimizer.ZeroGrad();
            var loss = model.forward(Input(100 + step)).square().mean();
            loss.backward();
            optimizer.Step();
        }
        model.eval();
    }

    [Fact]
    public void A_module_to_save_trains_fully_and_is_counted()
    {
        using var model = new HeadNet(seed: 1);
        var attachment = FloraInjector.Attach(model, HeadNet.Config());
        Assert.Equal(new[] { "head" }, attachment.ModulesToSave.Select(m => m.Path));
        long adapters = attachment.Adapters.Sum(a => a.TrainableParameters);
        Assert.Equal(adapters + 16 * 5 + 5, attachment.TrainableParameters);
        var trainable = attachment.Parameters().ToHashSet();
        Assert.Contains(model.Head.weight, trainable);
        Assert.Contains(model.Head.bias!, trainable);
        foreach (var (name, parameter) in model.named_parameters())
            Assert.Equal(trainable.Contains(parameter), parameter.requires_grad);
        Assert.Equal(model.parameters().Where(p => p.requires_grad).Sum(p => p.numel()), attachment.TrainableParameters);
        var row = attachment.ToString().Split('\n').Single(l => l.StartsWith("head ", StringComparison.Ordinal));
        Assert.Contains("saved", row);
        Assert.Contains("Linear, saved whole", row);
        Assert.EndsWith("85", row.TrimEnd());
        attachment.Detach();
    }

    [Fact]
    public void A_head_trained_through_the_attachment_equals_the_head_trained_alone_on_frozen_features()
    {
        using var model = new HeadNet(seed: 2);
        model.eval();
        using var reference = nn.Linear(16, 5);
        using (torch.no_grad())
        {
            reference.weight.copy_(model.Head.weight);
            reference.bias!.copy_(model.Head.bias!);
        }
        var attachment = FloraInjector.Attach(model, new FloraConfig { ModulesToSave = new[] { "head" } });
        Assert.Empty(attachment.Adapters);
        using var optimizer = new FloraAdamW(attachment.Parameters(), learningRate: 1e-2);
        using var referenceOptimizer = new FloraAdamW(reference.parameters(), learningRate: 1e-2);
        for (int step = 0; step < 6; step++)
        {
            using var scope = torch.NewDisposeScope();
            var x = Input(10 + step);
            var target = TestTensors.Randn(new long[] { 6, 5 }, 20 + step);
            optimizer.ZeroGrad();
            var loss = nn.functional.mse_loss(model.forward(x), target);
            loss.backward();
            optimizer.Step();

            Tensor features;
            using (torch.no_grad()) features = model.Features(x);
            referenceOptimizer.ZeroGrad();
            var referenceLoss = nn.functional.mse_loss(reference.forward(features), target);
            referenceLoss.backward();
            referenceOptimizer.Step();

            Assert.Equal(referenceLoss.item<float>(), loss.item<float>());
            TestTensors.AssertBitEqual(reference.weight, model.Head.weight, $"head weight after step {step}");
            TestTensors.AssertBitEqual(reference.bias!, model.Head.bias!, $"head bias after step {step}");
        }
        attachment.Detach();
    }

    [Fact]
    public void Detach_restores_every_parameter_and_buffer_bit_exactly_after_training()
    {
        using var model = new HeadNet(seed: 3);
        var before = StateOf(model);
        var attachment = FloraInjector.Attach(model, HeadNet.Config(norms: true));
        Assert.Equal(new[] { "bn1", "bn2", "head" }, attachment.ModulesToSave.Select(m => m.Path).OrderBy(p => p));
        Train(model, attachment);
        Assert.False(model.Bn1.running_mean!.allclose(before["bn1.running_mean"]), "training moved the running mean");
        attachment.Detach();
        var after = StateOf(model);
        Assert.Equal(before.Keys.OrderBy(k => k), after.Keys.OrderBy(k => k));
        foreach (var (key, value) in before) TestTensors.AssertBitEqual(value, after[key], key);
        Assert.All(model.parameters(), p => Assert.True(p.requires_grad));
    }

    [Fact]
    public void BatchNorm_statistics_and_the_head_round_trip_through_the_file_onto_a_fresh_model()
    {
        using var model = new HeadNet(seed: 4);
        var attachment = FloraInjector.Attach(model, HeadNet.Config(norms: true));
        foreach (FloraLayer adapter in attachment.Adapters) TestTensors.RandomiseCore(adapter, 7);
        Train(model, attachment);
        string path = Path.Combine(_dir, "transfer.safetensors");
        attachment.Save(path);
        using var x = Input(40);
        using var trained = model.forward(x);

        using (var content = Safetensors.Load(path))
        {
            foreach (var key in new[] { "head.weight", "head.bias", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked", "bn2.running_var" })
                Assert.Contains(key, content.Tensors.Keys);
            TestTensors.AssertBitEqual(model.Bn1.running_mean!, content.Tensors["bn1.running_mean"], "saved running mean");
            Assert.Equal(ScalarType.Int64, content.Tensors["bn1.num_batches_tracked"].dtype);
            Assert.Equal(attachment.TrainableParameters, content.Tensors.Where(t => t.Value.is_floating_point() && !t.Key.Contains("running")).Sum(t => t.Value.numel()));
        }
        var config = AdapterFile.ReadConfig(path);
        Assert.Equal(AdapterFileConfig.CurrentFormat, config.Format);
        Assert.Equal(new[] { "bn1", "bn2", "head" }, config.ModulesToSave.Select(m => m.Name).OrderBy(n => n));
        Assert.Equal("BatchNorm2d", config.ModulesToSave.Single(m => m.Name == "bn1").Module);

        using var fresh = new HeadNet(seed: 4); // the same base weights, an untrained head and statistics
        var loaded = FloraInjector.AttachFromFile(fresh, path);
        fresh.eval();
        using var reloaded = fresh.forward(x);
        TestTensors.AssertBitEqual(trained, reloaded, "the fresh model with the file");
        TestTensors.AssertBitEqual(model.Bn1.running_var!, fresh.Bn1.running_var!, "running variance");
        Assert.Equal(attachment.TrainableParameters, loaded.TrainableParameters);

        // LoadFlora into an attachment with the same settings.
        using var third = new HeadNet(seed: 4);
        var same = FloraInjector.Attach(third, HeadNet.Config(norms: true));
        same.Load(path);
        third.eval();
        using var third_out = third.forward(x);
        TestTensors.AssertBitEqual(trained, third_out, "Load into the same settings");
    }

    [Fact]
    public void MergeAndDetach_keeps_the_trained_modules()
    {
        using var model = new HeadNet(seed: 5);
        var attachment = FloraInjector.Attach(model, HeadNet.Config(norms: true));
        Train(model, attachment);
        using var x = Input(41);
        using var trained = model.forward(x);
        var head = model.Head.weight.detach().clone();
        attachment.MergeAndDetach();
        using var merged = model.forward(x);
        TestTensors.AssertClose(trained, merged, 1e-5, 1e-5, "merged and detached");
        TestTensors.AssertBitEqual(head, model.Head.weight, "trained head kept");
    }

    [Fact]
    public void Bad_selections_are_refused_naming_the_module_and_the_model_is_untouched()
    {
        using var model = new HeadNet(seed: 6);
        var before = StateOf(model);
        var none = Assert.Throws<ArgumentException>(() => FloraInjector.Attach(model, HeadNet.Config() with { ModulesToSave = new[] { "classifier" } }));
        Assert.Contains("'classifier' matches no module", none.Message);
        Assert.Contains("head", none.Message);
        var both = Assert.Throws<ArgumentException>(() => FloraInjector.Attach(model, HeadNet.Config() with { ModulesToSave = new[] { "conv1" } }));
        Assert.Contains("'conv1' is both a target and a module to save", both.Message);

        using var tiny = new TinyNet();
        var contains = Assert.Throws<ArgumentException>(() => FloraInjector.Attach(tiny, TinyNet.Config() with { ModulesToSave = new[] { "seq" } }));
        Assert.Contains("'seq' contains the target 'seq.pw'", contains.Message);

        Assert.All(model.parameters(), p => Assert.True(p.requires_grad));
        foreach (var (key, value) in StateOf(model)) TestTensors.AssertBitEqual(before[key], value, key);
        Assert.Equal(before.Keys.OrderBy(k => k), model.state_dict().Keys.OrderBy(k => k));
    }

    [Fact]
    public void A_module_inside_another_module_to_save_is_covered_by_it()
    {
        using var tiny = new TinyNet();
        var attachment = FloraInjector.Attach(tiny, new FloraConfig
        {
            TargetModules = new[] { "conv1" },
            ModulesToSave = new[] { "seq", "seq.act", "bn" },
            Defaults = new FloraModelOptions { SaveNormLayers = true },
        });
        Assert.Equal(new[] { "bn", "seq" }, attachment.ModulesToSave.Select(m => m.Path));
        attachment.Detach();
    }

    [Fact]
    public void A_file_whose_saved_modules_differ_from_the_model_is_refused_and_the_model_stays_bit_identical()
    {
        using var source = new HeadNet(seed: 7);
        var saved = FloraInjector.Attach(source, HeadNet.Config(norms: true));
        Train(source, saved);
        string good = Path.Combine(_dir, "good.safetensors");
        saved.Save(good);

        var cases = new (string Name, Func<byte[], byte[]> Corrupt, string Expected)[]
        {
            ("wrong head shape", b => AdapterFileTests.Rewrite(b, (t, m) => t["head.weight"] = torch.zeros(7, 16)), "head.weight"),
            ("missing buffer", b => AdapterFileTests.Rewrite(b, (t, m) => t.Remove("bn2.running_mean")), "bn2.running_mean"),
            ("NaN statistics", b => AdapterFileTests.Rewrite(b, (t, m) => t["bn1.running_var"] = torch.full(8, double.NaN)), "bn1.running_var"),
            ("integer buffer of another dtype", b => AdapterFileTests.Rewrite(b, (t, m) => t["bn1.num_batches_tracked"] = torch.zeros(new long[0], ScalarType.Int32)), "bn1.num_batches_tracked"),
            ("module type differs", b => AdapterFileTests.Rewrite(b, (t, m) => m["flora"] = m["flora"].Replace("\"module\":\"Linear\"", "\"module\":\"Conv2d\"")), "key 'head'"),
            ("module the model does not save", b => AdapterFileTests.Rewrite(b, (t, m) => m["flora"] = m["flora"].Replace("\"name\":\"bn2\"", "\"name\":\"bn3\"")), "bn"),
        };
        foreach (var (name, corrupt, expected) in cases)
        {
            string path = Path.Combine(_dir, name.Replace(' ', '-') + ".safetensors");
            File.WriteAllBytes(path, corrupt(File.ReadAllBytes(good)));
            using var model = new HeadNet(seed: 7);
            var attachment = FloraInjector.Attach(model, HeadNet.Config(norms: true));
            var before = StateOf(model);
            var error = Assert.ThrowsAny<IOException>(() => attachment.Load(path));
            Assert.Contains(path, error.Message);
            Assert.Contains(expected, error.Message);
            foreach (var (key, value) in StateOf(model)) TestTensors.AssertBitEqual(before[key], value, $"{name}: {key}");

            using var fresh = new HeadNet(seed: 7);
            var freshState = StateOf(fresh);
            Assert.ThrowsAny<IOException>(() => FloraInjector.AttachFromFile(fresh, path));
            foreach (var (key, value) in StateOf(fresh)) TestTensors.AssertBitEqual(freshState[key], value, $"{name} (AttachFromFile): {key}");
            Assert.All(fresh.parameters(), p => Assert.True(p.requires_grad));
        }
    }

    [Fact]
    public void A_format_1_file_without_modules_to_save_still_loads()
    {
        using var source = new TinyNet();
        var saved = FloraInjector.Attach(source, TinyNet.Config());
        foreach (FloraLayer adapter in saved.Adapters) TestTensors.RandomiseCore(adapter, 3);
        string current = Path.Combine(_dir, "v2.safetensors");
        saved.Save(current);
        string old = Path.Combine(_dir, "v1.safetensors");
        File.WriteAllBytes(old, AdapterFileTests.Rewrite(File.ReadAllBytes(current), (t, m) =>
            m["flora"] = m["flora"].Replace("\"format\":" + AdapterFileConfig.CurrentFormat, "\"format\":1").Replace(",\"modules_to_save\":[]", "")));
        var config = AdapterFile.ReadConfig(old);
        Assert.Equal(1, config.Format);
        Assert.Empty(config.ModulesToSave);
        using var fresh = new TinyNet();
        var loaded = FloraInjector.AttachFromFile(fresh, old);
        foreach (var (a, b) in saved.Adapters.Zip(loaded.Adapters))
            foreach (var (ta, tb) in a.AdapterTensors.Zip(b.AdapterTensors))
                TestTensors.AssertBitEqual(ta.Tensor, tb.Tensor, a.Name + "." + ta.Key);
    }
}
