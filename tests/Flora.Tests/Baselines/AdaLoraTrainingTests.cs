using System.IO;
using System.Text.Json.Nodes;
using TorchSharp.Modules;

namespace Flora.Tests.Baselines;

/// <summary>
/// AdaLoRA through a whole training loop on a model with a Linear, a Conv1d, a Conv2d and a Conv3d member:
/// FloraAdamW steps with the orthogonality term, UpdateAndAllocate after each, then merge, save, load into a fresh model
/// (outputs and masks equal), disable and detach (the exact base); a damaged file is refused with the model unchanged.
/// </summary>
public sealed class AdaLoraTrainingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flora-adalora-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Conv3d → mean over depth → Conv2d → rows as a sequence → Conv1d → mean → Linear.</summary>
    private sealed class FourKindsNet : nn.Module<Tensor, Tensor>
    {
        private readonly Conv3d volume = nn.Conv3d(2, 4, 3, padding: 1);
        private readonly Conv2d plane = nn.Conv2d(4, 6, 3, padding: 1);
        private readonly Conv1d line = nn.Conv1d(6, 8, 3, padding: 1);
        private readonly Linear head = nn.Linear(8, 3);

        public FourKindsNet() : base(nameof(FourKindsNet)) => RegisterComponents();

        public static readonly string[] Targets = { "volume", "plane", "line", "head" };

        public override Tensor forward(Tensor x)
        {
            using var scope = torch.NewDisposeScope();
            var h = nn.functional.relu(volume.call(x)).mean(new long[] { 2 });
            h = nn.functional.relu(plane.call(h));
            h = nn.functional.relu(line.call(h.reshape(h.shape[0], h.shape[1], -1))).mean(new long[] { 2 });
            return head.call(h).MoveToOuterDisposeScope();
        }
    }

    private static readonly AdaLoraOptions Schedule = new() { InitRank = 4, TargetRank = 2, TotalSteps = 8, TInit = 2, TFinal = 2, OrthRegWeight = 0.1 };

    private static FloraConfig Config => new()
    {
        TargetModules = FourKindsNet.Targets,
        Defaults = new FloraModelOptions { LoraAlpha = 3, AdaLora = Schedule },
    };

    private static Tensor Input() => TestTensors.Randn(new long[] { 4, 2, 5, 6, 6 }, seed: 31);

    private static Dictionary<string, Tensor> StateOf(nn.Module model) =>
        model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());

    /// <summary>A fresh model with <paramref name="source"/>'s base weights (given before attach, or read through the adapters' base layers).</summary>
    private static FourKindsNet SameBase(Dictionary<string, Tensor> baseState)
    {
        var model = new FourKindsNet();
        using var noGrad = torch.no_grad();
        foreach (var (key, value) in model.state_dict()) value.copy_(baseState[key]);
        return model;
    }

    /// <summary>Trains <paramref name="model"/> with AdaLoRA for the whole schedule; returns the attachment.</summary>
    private static FloraAttachment Train(FourKindsNet model)
    {
        var attachment = FloraInjector.Attach(model, Config, FloraMethod.AdaLora);
        using var x = Input();
        using var target = TestTensors.Randn(new long[] { 4, 3 }, seed: 32);
        using var optimizer = new FloraAdamW(attachment.Parameters(), learningRate: 2e-2);
        for (int step = 1; step <= Schedule.TotalSteps; step++)
        {
            using var scope = torch.NewDisposeScope();
            var loss = nn.functional.mse_loss(model.call(x), target) + attachment.OrthogonalRegularization();
            loss.backward();
            optimizer.step();
            attachment.UpdateAndAllocate(step);
            optimizer.zero_grad();
        }
        return attachment;
    }

    [Fact]
    public void Training_allocates_the_budget_and_save_load_detach_keep_every_guarantee()
    {
        using var model = new FourKindsNet();
        model.eval();
        var baseState = StateOf(model);
        using var x = Input();
        using var baseOutput = model.forward(x);

        var attachment = Train(model);
        var adapters = attachment.Adapters.Cast<AdaLoraLayer>().ToArray();
        Assert.Equal(FourKindsNet.Targets, adapters.Select(a => a.Name));
        Assert.Equal(new[] { typeof(Conv3d), typeof(Conv2d), typeof(Conv1d), typeof(Linear) }, adapters.Select(a => a.BaseLayer.GetType()));
        Assert.Equal(8, adapters.Sum(a => a.ActiveRank)); // Σ target ranks
        foreach (var adapter in adapters)
            for (int i = 0; i < adapter.Config.Rank; i++)
                if (!adapter.RankPattern[i]) Assert.Equal(0f, adapter.LoraE[i, 0].item<float>());
        using var adapted = model.forward(x);
        Assert.False(adapted.allclose(baseOutput), "the trained adapters change the output");

        string path = Path.Combine(_dir, "adalora.safetensors");
        attachment.Save(path);
        var file = AdapterFile.ReadConfig(path);
        Assert.Equal(3, file.Format);
        Assert.Equal("adalora", file.Method);
        Assert.Equal(Schedule, file.AdaLora);
        Assert.Equal(adapters.Select(a => a.RankPattern.ToArray()), file.Targets.Select(t => t.RankPattern!));
        Assert.All(file.Targets, t => Assert.Equal(new[] { 4, 4 }, t.Ranks));
        Assert.All(file.Targets, t => Assert.Equal((2, 3.0), (t.TargetRank!.Value, t.LoraAlpha!.Value)));
        using (var content = Safetensors.Load(path))
            Assert.Equal(FourKindsNet.Targets.SelectMany(t => new[] { t + ".lora_A", t + ".lora_B", t + ".lora_E" }).Order(StringComparer.Ordinal),
                content.Tensors.Keys.Order(StringComparer.Ordinal));

        // Into a fresh model of the same base, from the file alone.
        using var fresh = SameBase(baseState);
        fresh.eval();
        var loaded = FloraInjector.AttachFromFile(fresh, path);
        Assert.Equal(FloraMethod.AdaLora, loaded.Method);
        Assert.Equal(attachment.Adapters.Select(a => a.Spec), loaded.Adapters.Select(a => a.Spec));
        Assert.Equal(adapters.Select(a => a.RankPattern.ToArray()), loaded.Adapters.Cast<AdaLoraLayer>().Select(a => a.RankPattern.ToArray()));
        Assert.Equal(Schedule, loaded.RankAllocator!.Options);
        using (var reloaded = fresh.forward(x)) TestTensors.AssertBitEqual(adapted, reloaded, "output after AttachFromFile");

        // Into an attachment of the same configuration.
        using var other = SameBase(baseState);
        other.eval();
        var attached = FloraInjector.Attach(other, Config, FloraMethod.AdaLora);
        attached.Load(path);
        Assert.Equal(adapters.Select(a => a.ActiveRank), attached.Adapters.Cast<AdaLoraLayer>().Select(a => a.ActiveRank));
        using (var reloaded = other.forward(x)) TestTensors.AssertBitEqual(adapted, reloaded, "output after Load");

        // Merged (into the copy), ΔW is built with the masked Λ.
        attached.Merge();
        using (var merged = other.forward(x)) TestTensors.AssertClose(adapted, merged, 1e-4, 1e-5, "merged");
        attached.Unmerge();

        // Disabled: the base model; detached: the exact base model.
        using (attachment.Disable())
        using (var disabled = model.forward(x))
            TestTensors.AssertBitEqual(baseOutput, disabled, "output while disabled");
        attachment.Detach();
        foreach (var (key, value) in model.state_dict()) TestTensors.AssertBitEqual(baseState[key], value, key);
        using var detached = model.forward(x);
        TestTensors.AssertBitEqual(baseOutput, detached, "output after detach");
        Assert.All(model.parameters(), p => Assert.True(p.requires_grad));
    }

    public static TheoryData<string, string> Damages() => new()
    {
        { "rank_pattern of another length", "its rank_pattern has 3 entries but the adapter has 4 triplets" },
        { "NaN in Λ", "NaN" },
        { "Λ of another rank", "its shape is [3, 1] but the adapter's is [4, 1]" },
    };

    [Theory]
    [MemberData(nameof(Damages))]
    public void A_damaged_file_is_refused_and_the_model_stays_bit_identical(string damage, string message)
    {
        using var model = new FourKindsNet();
        var attachment = Train(model);
        string path = Path.Combine(_dir, "good.safetensors");
        attachment.Save(path);

        string damaged = Path.Combine(_dir, "damaged.safetensors");
        using (var content = Safetensors.Load(path))
        {
            var tensors = content.Tensors.ToDictionary(t => t.Key, t => t.Value.clone());
            var config = JsonNode.Parse(content.Metadata[AdapterFileConfig.MetadataEntryName])!;
            switch (damage)
            {
                case "rank_pattern of another length":
                    config["targets"]![1]!["rank_pattern"] = new JsonArray(true, false, true);
                    break;
                case "NaN in Λ":
                    tensors["plane.lora_E"] = torch.full(4, 1, float.NaN);
                    break;
                default:
                    tensors["plane.lora_E"] = torch.zeros(3, 1);
                    break;
            }
            Safetensors.Save(damaged, tensors, new Dictionary<string, string> { [AdapterFileConfig.MetadataEntryName] = config.ToJsonString() });
        }

        // A model whose allocation differs from the file's: the refusal must leave its tensors and masks as they are.
        using (torch.no_grad())
            foreach (var adapter in attachment.Adapters.Cast<AdaLoraLayer>()) adapter.LoraE.add_(1);
        var patterns = attachment.Adapters.Cast<AdaLoraLayer>().Select(a => a.RankPattern.ToArray()).ToArray();
        var before = StateOf(model);
        var error = Assert.Throws<AdapterFileException>(() => attachment.Load(damaged));
        Assert.Contains(message, error.Message);
        Assert.Contains(damaged, error.Message);
        foreach (var (key, value) in StateOf(model)) TestTensors.AssertBitEqual(before[key], value, key);
        Assert.Equal(patterns, attachment.Adapters.Cast<AdaLoraLayer>().Select(a => a.RankPattern.ToArray()));
    }
}
