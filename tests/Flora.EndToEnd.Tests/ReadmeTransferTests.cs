using System.IO;
using Flora;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace Flora.EndToEnd.Tests;

/// <summary>README's transfer-learning model, as written there (<see cref="ReadmeTransferTests.The_model_is_READMEs_text"/> checks it).</summary>
[FloraModel(Rank = 8, R3 = 2, SaveNormLayers = true, LoraRank = 16, LoraAlpha = 32)]
public partial class Classifier : Module<Tensor, Tensor>
{
    [FloraTarget] private readonly Conv2d conv1 = Conv2d(3, 64, 3, padding: 1);
    private readonly BatchNorm2d bn1 = BatchNorm2d(64);                 // trains and is saved: SaveNormLayers
    [FloraTarget(LoraRank = 4)] private readonly Conv2d conv2 = Conv2d(64, 128, 3, padding: 1);
    private readonly BatchNorm2d bn2 = BatchNorm2d(128);
    [FloraModuleToSave] private readonly Linear head = Linear(128, 10);  // the new head: trains fully, is saved
    public Classifier() : base(nameof(Classifier)) => RegisterComponents();
    public override Tensor forward(Tensor x)
    {
        var h = functional.relu(FloraBatchNorm.Forward(bn1, conv1.call(x)));   // BatchNorm without TorchSharp's scalar race
        h = functional.relu(FloraBatchNorm.Forward(bn2, conv2.call(h)));
        return head.call(h.mean(new long[] { 2, 3 }));
    }
}

/// <summary>
/// README's transfer-learning sequence, in the order it shows it. Its C# block compiles as pasted
/// (Documentation/DocumentationSnippetTests); this runs it, on a copy of its model class that must be README's text.
/// </summary>
public sealed class ReadmeTransferTests
{
    [Fact]
    public void The_model_is_READMEs_text()
    {
        string root = Repository.Root();
        string source = File.ReadAllText(Path.Combine(root, "tests", "Flora.EndToEnd.Tests", "ReadmeTransferTests.cs")).Replace("\r\n", "\n");
        int start = source.IndexOf("[FloraModel(", StringComparison.Ordinal);
        int end = source.IndexOf("\n}\n", start, StringComparison.Ordinal) + 3;
        string model = source[start..end];
        string readme = File.ReadAllText(Path.Combine(root, "README.md")).Replace("\r\n", "\n");
        Assert.True(readme.Contains(model, StringComparison.Ordinal), "README's Classifier differs from this test's copy:\n" + model);
    }

    [Fact]
    public void The_readme_recipe_runs_as_written()
    {
        string path = Path.Combine(Path.GetTempPath(), $"classifier-{Guid.NewGuid():N}.flora.safetensors");
        try
        {
            using var model = new Classifier();
            var baseState = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
            var adapters = model.AttachFlora();
            Assert.Equal(new[] { "conv1", "conv2" }, adapters.All.Select(a => a.Name));
            Assert.Equal(new[] { "bn1", "bn2", "head" }, adapters.Attachment.ModulesToSave.Select(m => m.Path).OrderBy(p => p));
            using var x = torch.randn(2, 3, 8, 8);
            model.train();
            using (var opt = new FloraAdamW(model.FloraParameters(), learningRate: 1e-3))
            {
                using var scope = NewDisposeScope();
                opt.ZeroGrad();
                model.forward(x).square().mean().backward();
                opt.Step();
            }
            model.eval();
            using (model.DisableFlora())
            {
                using var disabled = model.forward(x);
                Assert.True(disabled.isfinite().all().item<bool>());
            }
            model.SaveFlora(path);
            model.DetachFlora();
            foreach (var (key, value) in model.state_dict())
                Assert.True(baseState[key].equal(value).all().item<bool>(), "detached: " + key);

            var lora = model.AttachFlora(FloraMethod.Lora);
            var conv1 = (LoraLayer)lora.All[0];
            var conv2 = (LoraLayer)lora.All[1];
            Assert.Equal((16, 2.0), (conv1.Config.Rank, conv1.Config.Scale)); // conv1: min(64, 3·9) = 27 ≥ 16
            Assert.Equal((4, 8.0), (conv2.Config.Rank, conv2.Config.Scale));
            model.DetachFlora();
        }
        finally
        {
            File.Delete(path);
        }
    }
}
