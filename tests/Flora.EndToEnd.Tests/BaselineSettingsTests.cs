using System.IO;
using System.Reflection;
using Flora;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace Flora.EndToEnd.Tests;

/// <summary>The settings of the paper's other baselines on a model, as a user writes them (issue 24).</summary>
[FloraModel(Rank = 4, R3 = 2, AdapterSize = 6, AdaLoraTargetRank = 2, AdaLoraInitRank = 3, SaveNormLayers = false)]
public partial class BaselineCnn : Module<Tensor, Tensor>
{
    [FloraTarget] private readonly Conv2d conv = Conv2d(3, 8, 3, padding: 1);
    [FloraTarget(AdapterSize = 2)] private readonly Linear head = Linear(8, 4);

    public BaselineCnn() : base(nameof(BaselineCnn)) => RegisterComponents();

    public override Tensor forward(Tensor x) => head.call(functional.relu(conv.call(x)).mean(new long[] { 2, 3 }));
}

/// <summary>
/// The generated constants and options for Houlsby and AdaLoRA, compiled by the real build (the generator as an analyzer
/// of this project), against the counts of the adapters the runtime attaches, and AdaLoRA trained through the generated API.
/// </summary>
public sealed class BaselineSettingsTests
{
    [Fact]
    public void The_Houlsby_and_AdaLoRA_constants_follow_the_attributes()
    {
        // conv [8, 3, 3, 3], r = 4, 3 (in clamps), 2, 2: core 4·3·2·2, factors 8·4 + 3·3 + 3·2 + 3·2; head [4, 8], r = 4, 4.
        Assert.Equal((4 * 3 * 2 * 2 + 8 * 4 + 3 * 3 + 3 * 2 + 3 * 2) + (4 * 4 + 4 * 4 + 8 * 4), BaselineCnn.FloraTrainableParameters);
        // Bottlenecks 2·c·m + m + c: conv c = 8 with the model's width 6, head c = 4 with its own width 2.
        Assert.Equal((2 * 8 * 6 + 6 + 8) + (2 * 4 * 2 + 2 + 4), BaselineCnn.HoulsbyTrainableParameters);
        // AdaLoRA at the initial rank 3: r·(out + (in/groups)·Πk + 1).
        Assert.Equal(3 * (8 + 3 * 3 * 3 + 1) + 3 * (4 + 8 + 1), BaselineCnn.AdaLoraTrainableParameters);
    }

    [Fact]
    public void README_s_SmallCnn_gets_matched_Houlsby_and_AdaLoRA_constants()
    {
        // FLoRA per target: conv1 589, conv2 1036, head 312 (GeneratedMembersTests works them out).
        // Houlsby widths whose count is closest: conv1 (c = 32) 9 gives 617, 28 away (8 gives 552, 37 away);
        // conv2 (c = 64) 8 gives 1096, 60 away (7: 967, 69 away); head (c = 10) 14 gives 304, 8 away (15: 325, 13 away).
        Assert.Equal((2 * 32 * 9 + 9 + 32) + (2 * 64 * 8 + 8 + 64) + (2 * 10 * 14 + 14 + 10), SmallCnn.HoulsbyTrainableParameters);
        // AdaLoRA target ranks whose count is closest, then the initial rank ⌈1.5·target⌉ up to the full rank min(out, K):
        // conv1 (K = 9, 42 a rank) 14 → the full rank 9, init 9; conv2 (K = 288, 353 a rank) 3, init 5;
        // head (K = 64, 75 a rank) 4 (300, 12 away), init 6.
        Assert.Equal(9 * (32 + 9 + 1) + 5 * (64 + 288 + 1) + 6 * (10 + 64 + 1), SmallCnn.AdaLoraTrainableParameters);
    }

    [Fact]
    public void The_generated_model_options_carry_the_attributes_and_FLoRA_still_attaches()
    {
        var options = Assert.IsType<FloraModelOptions>(typeof(BaselineCnn)
            .GetField("__floraModelOptions", BindingFlags.NonPublic | BindingFlags.Static)!.GetValue(null));
        Assert.Equal(6, options.AdapterSize);
        Assert.Equal(new AdaLoraOptions { TargetRank = 2, InitRank = 3 }, options.AdaLora);
        Assert.Equal((4, 2), (options.Rank, options.R3));

        using var model = new BaselineCnn();
        var adapters = model.AttachFlora();
        Assert.Equal(BaselineCnn.FloraTrainableParameters, adapters.TrainableParameters);
        model.DetachFlora();
    }

    [Fact]
    public void The_constants_equal_what_the_runtime_attaches()
    {
        foreach (var (method, expected) in new[] { (FloraMethod.Houlsby, BaselineCnn.HoulsbyTrainableParameters), (FloraMethod.AdaLora, BaselineCnn.AdaLoraTrainableParameters) })
        {
            using var model = new BaselineCnn();
            Assert.Equal(expected, model.AttachFlora(method).TrainableParameters);
            model.DetachFlora();
        }
        foreach (var (method, expected) in new[] { (FloraMethod.Houlsby, SmallCnn.HoulsbyTrainableParameters), (FloraMethod.AdaLora, SmallCnn.AdaLoraTrainableParameters) })
        {
            using var model = new SmallCnn();
            Assert.Equal(expected, model.AttachFlora(method).TrainableParameters);
            model.DetachFlora();
        }
    }

    [Fact]
    public void AdaLoRA_trains_allocates_and_reloads_through_the_generated_members()
    {
        var options = new FloraModelOptions
        {
            Rank = 4, R3 = 2,
            AdaLora = new AdaLoraOptions { TargetRank = 2, InitRank = 3, TotalSteps = 6, TInit = 1, TFinal = 2 },
        };
        using var generator = new TorchSharp.torch.Generator(24);
        using var x = TorchSharp.torch.randn(new long[] { 4, 3, 6, 6 }, generator: generator);
        using var labels = TorchSharp.torch.tensor(new long[] { 0, 1, 2, 3 });
        using var model = new BaselineCnn();
        using var before = model.call(x);
        var baseWeights = model.state_dict().ToDictionary(p => p.Key, p => p.Value.clone());
        var adapters = model.AttachFlora(FloraMethod.AdaLora, options);
        using var optimizer = TorchSharp.torch.optim.AdamW(model.FloraParameters(), lr: 0.05);
        for (int step = 0; step < 6; step++)
        {
            optimizer.zero_grad();
            using var logits = model.call(x);
            using var loss = functional.cross_entropy(logits, labels) + adapters.Attachment.OrthogonalRegularization();
            loss.backward();
            optimizer.step();
            adapters.Attachment.UpdateAndAllocate(step);
        }
        // The final budget is the target rank per target (2 each), however it was split between conv and head.
        Assert.Equal(2 * 2, adapters.All.Cast<AdaLoraLayer>().Sum(a => a.ActiveRank));
        using var after = model.call(x);
        Assert.False(after.allclose(before), "training moved the output");
        string path = Path.Combine(Path.GetTempPath(), $"flora-adalora-{Guid.NewGuid():N}.safetensors");
        try
        {
            model.SaveFlora(path);
            using var fresh = new BaselineCnn();
            fresh.load_state_dict(baseWeights); // the same base, as a user reloads a fine-tuned adapter onto the pretrained model
            fresh.AttachFlora(FloraMethod.AdaLora, options);
            fresh.LoadFlora(path);
            using var reloaded = fresh.call(x);
            Assert.Equal(after.data<float>().ToArray(), reloaded.data<float>().ToArray());
        }
        finally
        {
            File.Delete(path);
        }
    }
}
