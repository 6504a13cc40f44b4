using System.IO;
using TorchSharp.Modules;

namespace Flora.Tests.Transfer;

/// <summary>
/// Transfer learning end to end on a network this library did not write: TorchVision's ResNet-18 gets a new 10-class
/// head and its BatchNorm layers as modules to save, FLoRA on the 3×3 convolutions of its residual blocks, trains a few
/// steps, saves; a freshly built ResNet-18 with the same base weights plus AttachFromFile reproduces the trained outputs.
/// </summary>
public sealed class TorchVisionResNetTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flora-resnet-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly FloraConfig Config = new()
    {
        TargetModules = new[] { @"layer\d\.\d\.conv\d" },
        ModulesToSave = new[] { "fc" },
        Defaults = new FloraModelOptions { Rank = 4, R3 = 2, Scale = 0.4, SaveNormLayers = true },
    };

    private static Dictionary<string, Tensor> StateOf(nn.Module model) =>
        model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());

    [Theory]
    [InlineData(FloraMethod.Flora)]
    [InlineData(FloraMethod.Lora)]
    public void A_new_head_and_BatchNorm_train_save_and_reload_onto_a_fresh_ResNet18(FloraMethod method)
    {
        using var model = torchvision.models.resnet18(num_classes: 10);
        var baseState = StateOf(model);
        var attachment = FloraInjector.Attach(model, Config, method);
        Assert.Equal(16, attachment.Adapters.Count);
        Assert.Equal(20 + 1, attachment.ModulesToSave.Count); // 17 BatchNorms of the blocks and stem, 3 of the projections, the head
        Assert.Contains(attachment.ModulesToSave, m => m.Path == "layer2.0.downsample.1");
        long savedCount = attachment.ModulesToSave.Sum(m => m.Module.parameters().Sum(p => p.numel()));
        Assert.Equal(512 * 10 + 10 + 2 * (64 + 4 * 64 + 4 * 128 + 4 * 256 + 4 * 512 + 128 + 256 + 512), savedCount);
        Assert.Equal(attachment.Adapters.Sum(a => a.TrainableParameters) + savedCount, attachment.TrainableParameters);

        using var x = TestTensors.Randn(new long[] { 4, 3, 32, 32 }, 1);
        using var labels = torch.tensor(new long[] { 1, 3, 5, 7 });
        model.train();
        using (var optimizer = new FloraAdamW(attachment.Parameters(), learningRate: 1e-2))
        {
            for (int step = 0; step < 3; step++)
            {
                using var scope = torch.NewDisposeScope();
                optimizer.ZeroGrad();
                var loss = nn.functional.cross_entropy(model.forward(x), labels);
                loss.backward();
                optimizer.Step();
            }
        }
        model.eval();
        using var trained = model.forward(x);
        string path = Path.Combine(_dir, $"resnet18-{method}.safetensors");
        attachment.Save(path);

        using var fresh = torchvision.models.resnet18(num_classes: 10);
        fresh.load_state_dict(baseState);
        var loaded = FloraInjector.AttachFromFile(fresh, path);
        fresh.eval();
        using var reloaded = fresh.forward(x);
        TestTensors.AssertBitEqual(trained, reloaded, "fresh ResNet-18 plus the file");

        loaded.Detach();
        foreach (var (key, value) in StateOf(fresh)) TestTensors.AssertBitEqual(baseState[key], value, "detached: " + key);
        attachment.Detach();
        foreach (var (key, value) in StateOf(model)) TestTensors.AssertBitEqual(baseState[key], value, "detached after training: " + key);
    }
}
