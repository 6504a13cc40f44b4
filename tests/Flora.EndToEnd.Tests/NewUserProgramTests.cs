using System.IO;
using Flora;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace Flora.EndToEnd.Tests;

/// <summary>The new user's Conv1d audio classifier with BatchNorm1d, annotated (issue 22's first program).</summary>
[FloraModel(Rank = 4, R3 = 2, SaveNormLayers = false)]
public partial class AudioClassifier : Module<Tensor, Tensor>
{
    [FloraTarget] private readonly Conv1d conv1 = Conv1d(2, 8, 5, padding: 2);
    private readonly BatchNorm1d bn1 = BatchNorm1d(8);
    [FloraTarget] private readonly Conv1d conv2 = Conv1d(8, 8, 3, padding: 1);
    private readonly BatchNorm1d bn2 = BatchNorm1d(8);
    [FloraTarget] private readonly Linear head = Linear(8, 4);

    public AudioClassifier() : base(nameof(AudioClassifier)) => RegisterComponents();

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = functional.relu(bn1.forward(conv1.forward(x)));   // forward(x), as the new user wrote it: intercepted
        h = functional.relu(bn2.call(conv2.call(h)));
        return head.call(h.mean(new long[] { 2 })).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// The new user's programs, as they ran them: the Conv1d model with BatchNorm1d adapted both ways (annotated, and by
/// name on the same type) trains in train mode, and save → fresh base → load, merge, and detach all reproduce what was
/// trained or the exact base, its BatchNorm statistics untouched.
/// </summary>
public class NewUserProgramTests
{
    /// <summary>A "pretrained" base: every parameter from a private seed, statistics moved away from their defaults.</summary>
    private static AudioClassifier Base()
    {
        var model = new AudioClassifier();
        int seed = 700;
        using (no_grad())
        {
            foreach (var parameter in model.parameters())
            {
                using var generator = new Generator((ulong)seed++);
                parameter.copy_(randn(parameter.shape, generator: generator) * 0.3);
            }
            model.train();
            using var generator2 = new Generator(799);
            using (model.forward(randn(new long[] { 16, 2, 32 }, generator: generator2) * 3 + 1)) { }
        }
        model.eval();
        return model;
    }

    private static Tensor Input(ulong seed)
    {
        using var generator = new Generator(seed);
        return randn(new long[] { 4, 2, 32 }, generator: generator);
    }

    private static void Train(AudioClassifier model, IEnumerable<Parameter> parameters)
    {
        model.train();
        using var optimizer = new FloraAdamW(parameters, learningRate: 1e-2);
        for (ulong step = 0; step < 4; step++)
        {
            optimizer.zero_grad();
            using var output = model.call(Input(10 + step));
            using var loss = output.square().mean();
            loss.backward();
            optimizer.step();
        }
        model.eval();
    }

    [Fact]
    public void Annotated_it_trains_saves_loads_merges_and_detaches_exactly()
    {
        var model = Base();
        var statistics = model.state_dict().Where(kv => kv.Key.Contains("running")).ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        var x = Input(1);
        using var baseOutput = model.call(x);
        model.AttachFlora();
        Train(model, model.FloraParameters());
        using var trained = model.call(x);
        Assert.False(trained.allclose(baseOutput));
        foreach (var (key, value) in model.state_dict().Where(kv => kv.Key.Contains("running")))
            Assert.True(value.Equals(statistics[key]), $"{key} moved while attached");

        string file = Path.Combine(Path.GetTempPath(), $"audio-{Guid.NewGuid():N}.flora.safetensors");
        try
        {
            model.SaveFlora(file);
            var fresh = Base();
            fresh.AttachFlora();
            fresh.LoadFlora(file);
            Assert.True(trained.allclose(fresh.call(x), 1e-5, 1e-6), "fresh base + saved adapter");
            fresh.MergeFlora();
            Assert.True(trained.allclose(fresh.call(x), 1e-4, 1e-5), "merged");
        }
        finally
        {
            File.Delete(file);
        }
        model.DetachFlora();
        Assert.True(baseOutput.Equals(model.call(x)), "detached: the exact base model");
    }

    [Fact]
    public void Attached_by_name_the_generated_members_work_on_that_attachment()
    {
        var model = Base();
        var attachment = FloraInjector.Attach(model, new FloraConfig { TargetModules = new[] { "conv1", "conv2", "head" }, Defaults = new FloraModelOptions { Rank = 4, R3 = 2 } });
        Assert.Contains("FloraInjector", Assert.Throws<InvalidOperationException>(() => model.AttachFlora()).Message);
        Train(model, model.FloraParameters());
        string file = Path.Combine(Path.GetTempPath(), $"audio-{Guid.NewGuid():N}.flora.safetensors");
        try
        {
            model.SaveFlora(file);                                   // the attachment FloraInjector made
            Assert.Equal(attachment.Adapters.Count, AdapterFile.ReadConfig(file).Targets.Count);
        }
        finally
        {
            File.Delete(file);
        }
        model.DetachFlora();
        Assert.True(attachment.IsDetached);
        model.AttachFlora();                                         // and attaching again works once it is gone
    }
}
