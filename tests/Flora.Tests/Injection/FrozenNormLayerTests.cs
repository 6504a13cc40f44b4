using System.IO;
using Flora.Tests.Baselines;
using TorchSharp.Modules;

namespace Flora.Tests.Injection;

/// <summary>
/// Normalisation layers with running statistics that an attachment does not train stay frozen (eval mode, statistics of
/// attach time) while adapters are attached, so that training never moves them silently: detach gives back the exact
/// base model, and a saved adapter (Flora file or PEFT directory) loaded onto a fresh base, or merged, computes exactly
/// what was trained. A forward that bypasses the model's hooks and moves them is refused at save and undone at detach.
/// </summary>
public class FrozenNormLayerTests
{
    /// <summary>The new user's Conv1d audio classifier: two convolutions with BatchNorm1d between, a Linear head.</summary>
    private sealed class AudioNet : nn.Module<Tensor, Tensor>
    {
        private readonly Conv1d conv1 = nn.Conv1d(2, 8, 5, padding: 2);
        private readonly BatchNorm1d bn1 = nn.BatchNorm1d(8);
        private readonly Conv1d conv2 = nn.Conv1d(8, 8, 3, padding: 1);
        private readonly BatchNorm1d bn2 = nn.BatchNorm1d(8);
        private readonly Linear head = nn.Linear(8, 4);

        public AudioNet() : base(nameof(AudioNet)) => RegisterComponents();

        public override Tensor forward(Tensor x)
        {
            using var scope = torch.NewDisposeScope();
            var h = nn.functional.relu(bn1.call(conv1.call(x)));
            h = nn.functional.relu(bn2.call(conv2.call(h)));
            return head.call(h.mean(new long[] { 2 })).MoveToOuterDisposeScope();
        }
    }

    private static FloraConfig Config(bool saveNormLayers = false) => new()
    {
        TargetModules = new[] { "conv1", "conv2", "head" },
        Defaults = new FloraModelOptions { Rank = 4, R3 = 2, SaveNormLayers = saveNormLayers },
    };

    private static AudioNet Base()
    {
        var model = new AudioNet();
        // Weights from private generators: tests run in parallel and share torch's global one.
        int seed = 600;
        using (torch.no_grad())
            foreach (var parameter in model.parameters())
                parameter.copy_(TestTensors.Randn(parameter.shape, seed++) * 0.3);
        // Statistics of a "pretrained" base, not the defaults, so that moving them shows.
        model.train();
        using (torch.no_grad())
            for (int i = 0; i < 3; i++)
                using (model.forward(TestTensors.Randn(new long[] { 16, 2, 32 }, seed: 61 + i) * 3 + 1)) { }
        model.eval();
        return model;
    }

    private static void Train(AudioNet model, FloraAttachment attachment, int steps)
    {
        model.train();
        using var optimizer = new FloraAdamW(attachment.Parameters(), learningRate: 1e-2);
        for (int step = 0; step < steps; step++)
        {
            optimizer.ZeroGrad();
            using var output = model.call(TestTensors.Randn(new long[] { 8, 2, 32 }, seed: 70 + step) * 2 - 1);
            using var loss = (output * output).mean();
            loss.backward();
            optimizer.Step();
        }
    }

    private static Dictionary<string, Tensor> State(nn.Module model) =>
        model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());

    [Fact]
    public void Training_in_train_mode_leaves_frozen_statistics_alone_and_detach_gives_back_the_exact_base()
    {
        using var scope = torch.NewDisposeScope();
        var model = Base();
        var before = State(model);
        var x = TestTensors.Randn(new long[] { 4, 2, 32 }, seed: 62);
        using var baseOutput = model.forward(x);

        var attachment = FloraInjector.Attach(model, Config());
        Assert.Equal(new[] { "bn1", "bn2" }, attachment.FrozenNormLayers);
        Train(model, attachment, steps: 5);
        attachment.Detach();

        var after = State(model);
        Assert.Equal(before.Keys, after.Keys);
        foreach (var (key, value) in before) TestTensors.AssertBitEqual(value, after[key], key);
        model.eval();
        TestTensors.AssertBitEqual(baseOutput, model.forward(x), "the detached model's output");
    }

    [Fact]
    public void Detach_gives_each_frozen_layer_the_models_mode_back()
    {
        using var scope = torch.NewDisposeScope();
        var model = Base();
        model.train();
        var attachment = FloraInjector.Attach(model, Config());
        var bn1 = model.named_modules().Single(m => m.name == "bn1").module;
        Assert.False(bn1.training);
        attachment.Detach();
        Assert.True(bn1.training);
    }

    [Fact]
    public void A_saved_adapter_merged_or_loaded_onto_a_fresh_base_or_through_PEFT_computes_what_was_trained()
    {
        using var scope = torch.NewDisposeScope();
        var model = Base();
        var attachment = FloraInjector.Attach(model, Config(), FloraMethod.Lora);
        foreach (var adapter in attachment.Adapters) BaselineTensors.Randomise(adapter, 63);
        Train(model, attachment, steps: 3);
        model.eval();
        var x = TestTensors.Randn(new long[] { 4, 2, 32 }, seed: 64);
        using var trained = model.call(x);
        string dir = Directory.CreateTempSubdirectory("flora-frozen-norm").FullName;
        try
        {
            string file = Path.Combine(dir, "audio.flora.safetensors");
            attachment.Save(file);
            attachment.SavePeft(Path.Combine(dir, "peft"));

            var fresh = Base();
            var loaded = FloraInjector.AttachFromFile(fresh, file);
            TestTensors.AssertClose(trained, fresh.call(x), 1e-5, 1e-5, "fresh base + saved adapter");
            loaded.Merge();
            TestTensors.AssertClose(trained, fresh.call(x), 1e-5, 1e-5, "merged");

            var viaPeft = Base();
            FloraInjector.AttachFromPeft(viaPeft, Path.Combine(dir, "peft"));
            TestTensors.AssertClose(trained, viaPeft.call(x), 1e-5, 1e-5, "fresh base + PEFT directory");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Statistics_moved_by_a_forward_that_bypasses_the_models_hooks_are_refused_at_save_and_restored_at_detach()
    {
        using var scope = torch.NewDisposeScope();
        var model = Base();
        var before = State(model);
        var attachment = FloraInjector.Attach(model, Config());
        attachment.AllowUnusedAdapters = true;
        model.train(); // also switches the frozen layers back to train mode: only a call(x) of the model puts them in eval again
        using (torch.no_grad())
        using (model.forward(TestTensors.Randn(new long[] { 8, 2, 32 }, seed: 65))) { }

        string file = Path.Combine(Path.GetTempPath(), $"flora-moved-{Guid.NewGuid():N}.safetensors");
        var error = Assert.Throws<InvalidOperationException>(() => attachment.Save(file));
        Assert.Contains("'bn1', 'bn2'", error.Message);
        Assert.Contains("SaveNormLayers", error.Message);
        Assert.Contains("call(x)", error.Message);
        Assert.False(File.Exists(file));

        attachment.Detach();
        var after = State(model);
        foreach (var (key, value) in before) TestTensors.AssertBitEqual(value, after[key], key);
    }

    [Fact]
    public void With_SaveNormLayers_the_layers_train_and_nothing_is_frozen()
    {
        using var scope = torch.NewDisposeScope();
        var model = Base();
        var before = State(model);
        var attachment = FloraInjector.Attach(model, Config(saveNormLayers: true));
        Assert.Empty(attachment.FrozenNormLayers);
        Train(model, attachment, steps: 2);
        Assert.False(State(model)["bn1.running_mean"].Equals(before["bn1.running_mean"]));
    }
}
