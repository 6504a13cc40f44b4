using System.IO;
using TorchSharp.Modules;

namespace Flora.Tests.Injection;

/// <summary>
/// Adapters a model never runs: a member that keeps its base layer reaches the adapter through hooks, which TorchSharp
/// runs in <c>call(x)</c> only, so a model that calls <c>layer.forward(x)</c> bypasses it. That is reported instead of
/// training nothing (or only the head): at the end of a training forward of the model, at save and merge once the model
/// ran, and on demand with a sample input.
/// </summary>
public class UnusedAdapterTests
{
    /// <summary>The new user's model: it calls its layers with forward(x).</summary>
    private sealed class ForwardCaller : nn.Module<Tensor, Tensor>
    {
        private readonly Conv2d conv = nn.Conv2d(3, 6, 3, padding: 1);
        private readonly Linear head = nn.Linear(6, 4);
        private readonly bool _useCall;

        public ForwardCaller(bool useCall = false) : base(nameof(ForwardCaller))
        {
            _useCall = useCall;
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var scope = torch.NewDisposeScope();
            var h = nn.functional.relu(_useCall ? conv.call(x) : conv.forward(x));
            return head.call(h.mean(new long[] { 2, 3 })).MoveToOuterDisposeScope();
        }
    }

    private static readonly FloraConfig Config = new() { TargetModules = new[] { "conv", "head" }, Defaults = new FloraModelOptions { Rank = 3 } };

    private static Tensor Input() => TestTensors.Randn(new long[] { 2, 3, 8, 8 }, seed: 80);

    [Fact]
    public void A_training_forward_of_the_model_that_skips_an_adapter_throws_naming_the_layer_and_the_fix()
    {
        using var scope = torch.NewDisposeScope();
        var model = new ForwardCaller();
        FloraInjector.Attach(model, Config);
        model.train();
        var error = Assert.Throws<InvalidOperationException>(() => model.call(Input()));
        Assert.Contains("'conv'", error.Message);
        Assert.DoesNotContain("'head'", error.Message);
        Assert.Contains("forward(x)", error.Message);
        Assert.Contains("call(x)", error.Message);
    }

    [Fact]
    public void Saving_or_merging_after_the_model_ran_without_an_adapter_throws()
    {
        using var scope = torch.NewDisposeScope();
        var model = new ForwardCaller();
        var attachment = FloraInjector.Attach(model, Config);
        model.eval();
        using (model.call(Input())) { } // eval: no error yet
        string file = Path.Combine(Path.GetTempPath(), $"flora-unused-{Guid.NewGuid():N}.safetensors");
        Assert.Contains("'conv'", Assert.Throws<InvalidOperationException>(() => attachment.Save(file)).Message);
        Assert.Contains("'conv'", Assert.Throws<InvalidOperationException>(() => attachment.Merge()).Message);
        Assert.False(File.Exists(file));
        Assert.False(attachment.IsMerged);
    }

    [Fact]
    public void VerifyAdaptersRun_finds_the_bypassed_adapter_and_restores_the_models_mode()
    {
        using var scope = torch.NewDisposeScope();
        var model = new ForwardCaller();
        var attachment = FloraInjector.Attach(model, Config);
        model.train();
        var error = Assert.Throws<InvalidOperationException>(() => attachment.VerifyAdaptersRun(Input()));
        Assert.Contains("'conv'", error.Message);
        Assert.True(model.training);

        var good = new ForwardCaller(useCall: true);
        var goodAttachment = FloraInjector.Attach(good, Config);
        goodAttachment.VerifyAdaptersRun(Input());
    }

    [Fact]
    public void A_model_that_calls_its_layers_trains_and_saves_and_single_layer_calls_are_no_evidence()
    {
        using var scope = torch.NewDisposeScope();
        var model = new ForwardCaller(useCall: true);
        var attachment = FloraInjector.Attach(model, Config);
        model.train();
        using (var output = model.call(Input())) output.sum().backward();
        string file = Path.Combine(Path.GetTempPath(), $"flora-used-{Guid.NewGuid():N}.safetensors");
        try
        {
            attachment.Save(file);
        }
        finally
        {
            File.Delete(file);
        }

        // Calling one layer alone (a test, a debugging session) is no sign that the model bypasses the other.
        var partial = new ForwardCaller();
        var partialAttachment = FloraInjector.Attach(partial, Config);
        var head = (nn.Module<Tensor, Tensor>)partial.named_modules().Single(m => m.name == "head").module;
        using (head.call(TestTensors.Randn(new long[] { 2, 6 }, seed: 81))) { }
        partialAttachment.Merge();
    }

    [Fact]
    public void AllowUnusedAdapters_lets_a_model_leave_targets_unused()
    {
        using var scope = torch.NewDisposeScope();
        var model = new ForwardCaller();
        var attachment = FloraInjector.Attach(model, Config);
        attachment.AllowUnusedAdapters = true;
        model.train();
        using (model.call(Input())) { }
        attachment.Merge();
    }
}
