using System.IO;
using Flora;

namespace Flora.EndToEnd.Tests;

/// <summary>Generated transfer-learning members on models compiled with the generator: nested blocks, modules to save, chosen LoRA ranks, DisableFlora.</summary>
public sealed class TransferLearningTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flora-e2e-transfer-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Tensor Input(long seed)
    {
        using var generator = new Generator((ulong)seed);
        return torch.randn(new long[] { 4, 3, 8, 8 }, generator: generator);
    }

    private static Dictionary<string, Tensor> StateOf(nn.Module model) =>
        model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());

    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.dtype == b.dtype && a.eq(b).all().item<bool>();

    private static void Train(nn.Module<Tensor, Tensor> model, IEnumerable<TorchSharp.Modules.Parameter> parameters)
    {
        model.train();
        using var optimizer = new FloraAdamW(parameters, learningRate: 2e-2);
        for (int step = 0; step < 3; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.ZeroGrad();
            var loss = model.forward(Input(10 + step)).square().mean();
            loss.backward();
            optimizer.Step();
        }
        model.eval();
    }

    [Fact]
    public void A_model_of_annotated_blocks_attaches_every_nested_target_under_its_torchvision_path()
    {
        using var model = new TinyResNet();
        var adapters = model.AttachFlora();
        Assert.Equal(new[] { "layer1.0.conv1", "layer1.0.conv2", "layer1.1.conv1", "layer1.1.conv2", "layer1.1.downsample.0" },
            adapters.All.Select(a => a.Name));
        var saved = adapters.Attachment.ModulesToSave.Select(m => m.Path).ToList();
        Assert.Contains("fc", saved);
        Assert.Contains("bn1", saved);
        Assert.Contains("layer1.1.downsample.1", saved);
        Assert.Equal(1 + 1 + 2 + 3, saved.Count); // fc, the stem's bn1, two per block, the projection's
        Assert.Equal(model.parameters().Where(p => p.requires_grad).Sum(p => p.numel()), adapters.TrainableParameters);
        Assert.Equal(adapters.TrainableParameters, model.FloraParameters().Sum(p => p.numel()));
        model.DetachFlora();
    }

    [Fact]
    public void Training_saving_and_loading_a_nested_model_reproduces_it_and_detach_restores_the_base()
    {
        using var model = new TinyResNet();
        var baseState = StateOf(model);
        model.AttachFlora();
        Train(model, model.FloraParameters());
        using var x = Input(99);
        using var trained = model.forward(x);
        string path = Path.Combine(_dir, "tiny-resnet.safetensors");
        model.SaveFlora(path);

        using var fresh = new TinyResNet();
        fresh.load_state_dict(baseState);
        fresh.AttachFlora();
        fresh.LoadFlora(path);
        fresh.eval();
        using var reloaded = fresh.forward(x);
        Assert.True(Same(trained, reloaded), "LoadFlora reproduces the trained model");

        using (model.DisableFlora())
        {
            using var disabled = model.forward(x);
            using var baseline = new TinyResNet();
            baseline.load_state_dict(baseState);
            baseline.eval();
            using var expected = baseline.forward(x);
            Assert.True(Same(expected, disabled), "inside DisableFlora the model is the base model");
        }

        model.DetachFlora();
        foreach (var (key, value) in StateOf(model)) Assert.True(Same(baseState[key], value), "detached: " + key);
    }

    [Fact]
    public void The_compile_time_count_includes_the_modules_to_save()
    {
        using var model = new HeadModel();
        var flora = model.AttachFlora();
        Assert.Equal(HeadModel.FloraTrainableParameters, flora.TrainableParameters);
        Assert.Equal(HeadModel.FloraTrainableParameters, flora.All.Sum(a => a.TrainableParameters) + 8 * 4 + 4); // head: Linear(8, 4)
        model.DetachFlora();
    }

    [Fact]
    public void Chosen_LoRA_ranks_and_a_saved_head_come_from_the_attributes()
    {
        using var model = new HeadModel();
        var lora = model.AttachFlora(FloraMethod.Lora);
        var conv = (LoraLayer)lora.All.Single(a => a.Name == "conv");
        var conv2 = (LoraLayer)lora.All.Single(a => a.Name == "conv2");
        Assert.Equal((3, 2.0), (conv.Config.Rank, conv.Config.Scale));
        Assert.Equal((2, 3.0), (conv2.Config.Rank, conv2.Config.Scale));
        Assert.Equal(3 * (8 + 27) + 2 * (8 + 72) + 8 * 4 + 4, lora.TrainableParameters);
        Assert.Equal(new[] { "head" }, lora.Attachment.ModulesToSave.Select(m => m.Path));
        model.DetachFlora();
    }
}
