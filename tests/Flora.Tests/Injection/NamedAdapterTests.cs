using Flora.Tests.Transfer;
using static Flora.Tests.Injection.TwoAdapterModel;
using TorchSharp.Modules;

namespace Flora.Tests.Injection;

/// <summary>
/// Several named adapters on one base (PEFT's add_adapter / set_adapter / delete_adapter): each adapter computes as a
/// model with only that adapter would, bit for bit; several active ones add their updates; errors change nothing.
/// </summary>
public class NamedAdapterTests
{
    [Fact]
    public void Switching_gives_each_adapter_the_outputs_of_a_model_with_only_that_adapter_bit_exactly()
    {
        using var model = new TinyNet();
        using var floraOnly = Twin(model); // the same base weights, taken before attach
        using var loraOnly = Twin(model);
        var (_, attachment) = Create(model);
        using var x = Input();
        var floraAttachment = FloraInjector.Attach(floraOnly, TinyNet.Config(FloraOptions));
        CopyTensors(attachment, floraAttachment);
        attachment.SetAdapter("lora");
        var loraAttachment = FloraInjector.Attach(loraOnly, TinyNet.Config(LoraOptions), FloraMethod.Lora);
        CopyTensors(attachment, loraAttachment);

        using var loraOutput = Output(model, x);
        using var loraExpected = Output(loraOnly, x);
        TestTensors.AssertBitEqual(loraExpected, loraOutput, "'lora' active");
        attachment.SetAdapter("default");
        using var floraOutput = Output(model, x);
        using var floraExpected = Output(floraOnly, x);
        TestTensors.AssertBitEqual(floraExpected, floraOutput, "'default' active again");
        Assert.Equal(new[] { "default", "lora" }, attachment.AdapterNames);
        Assert.Equal(new[] { "default" }, attachment.ActiveAdapters);
        Assert.Equal(FloraMethod.Flora, attachment.Method);
    }

    [Fact]
    public void A_new_adapter_is_created_frozen_and_the_active_one_trains()
    {
        var (model, attachment) = Create();
        using var _ = model;
        var flora = attachment.Adapters.ToArray();
        attachment.SetAdapter("lora");
        var lora = attachment.Adapters.ToArray();
        Assert.All(lora, a => Assert.Equal(FloraMethod.Lora, a.Method));
        Assert.All(flora.SelectMany(a => a.AdapterTensors), t => Assert.False(t.Tensor.requires_grad));
        Assert.All(lora.SelectMany(a => a.AdapterTensors), t => Assert.True(t.Tensor.requires_grad));
        Assert.Equal(lora.SelectMany(a => a.AdapterTensors.Select(t => t.Tensor)), attachment.Parameters());
        Assert.Equal(lora.Sum(a => a.TrainableParameters), attachment.TrainableParameters);
        Assert.Equal(model.parameters().Where(p => p.requires_grad).Sum(p => p.numel()), attachment.TrainableParameters);

        attachment.AddAdapter("third", FloraMethod.Dora, LoraOptions);
        Assert.Equal(new[] { "lora" }, attachment.ActiveAdapters);
        Assert.Equal(lora.SelectMany(a => a.AdapterTensors.Select(t => t.Tensor)), attachment.Parameters());
        attachment.SetAdapter("third");
        Assert.All(attachment.Adapters, a => Assert.Equal(FloraMethod.Dora, a.Method));
        Assert.All(lora.SelectMany(a => a.AdapterTensors), t => Assert.False(t.Tensor.requires_grad));
    }

    /// <summary>A Linear model for formulas: y = x·W0ᵀ + b plus the adapters' updates.</summary>
    private static (nn.Module<Tensor, Tensor> Model, Linear Fc) LinearModel()
    {
        var fc = nn.Linear(6, 5);
        using (torch.no_grad())
        {
            using var w = TestTensors.Randn(fc.weight!.shape, 7);
            fc.weight!.copy_(w);
        }
        var model = nn.Sequential(("fc", fc));
        model.eval();
        return (model, fc);
    }

    /// <summary>x·(W0 + Σ ΔW)ᵀ + b in double precision, from each adapter's materialised update.</summary>
    private static Tensor LinearFormula(Tensor x, Linear fc, IEnumerable<Tensor> deltas)
    {
        using var w = fc.weight!.detach().to(ScalarType.Float64).clone();
        foreach (var delta in deltas)
            using (delta)
                w.add_(delta.to(ScalarType.Float64));
        using var x64 = x.to(ScalarType.Float64);
        using var bias = fc.bias!.detach().to(ScalarType.Float64);
        using var product = x64.matmul(w.t());
        return product + bias;
    }

    [Fact]
    public void Several_active_adapters_add_their_updates()
    {
        var (model, fc) = LinearModel();
        using var _ = model;
        var config = new FloraConfig { TargetModules = new[] { "fc" }, Defaults = FloraOptions };
        var attachment = FloraInjector.Attach(model, config);
        Randomise(attachment, 300);
        var flora = (FloraLinear)attachment.Adapters[0];
        attachment.AddAdapter("lora", FloraMethod.Lora, LoraOptions);
        attachment.AddAdapter("dora", FloraMethod.Dora, LoraOptions);
        attachment.SetAdapter("lora");
        Randomise(attachment, 400);
        var lora = (LoraLinear)attachment.Adapters[0];

        attachment.SetAdapters(new[] { "default", "lora" });
        Assert.Equal(new[] { "default", "lora" }, attachment.ActiveAdapters);
        Assert.Equal(new IFloraAdapter[] { flora, lora }, attachment.Adapters);
        Assert.All(attachment.Parameters(), p => Assert.True(p.requires_grad));
        using var x = TestTensors.Randn(new long[] { 4, 6 }, 8);
        using var both = Output(model, x);
        using var expected = LinearFormula(x, fc, new[] { flora.Delta(), lora.Delta() });
        TestTensors.AssertClose(expected, both, 1e-5, 1e-5, "default + lora");

        // Merging several: W0 += ΔW_default + ΔW_lora; the model then computes the same, and unmerging returns W0.
        using var w0 = fc.weight!.detach().clone();
        attachment.Merge();
        using var merged = Output(model, x);
        TestTensors.AssertClose(expected, merged, 1e-5, 1e-5, "default + lora merged");
        Assert.Throws<InvalidOperationException>(() => attachment.SetAdapter("default"));
        attachment.Unmerge();
        TestTensors.AssertClose(w0, fc.weight!, 1e-6, 1e-6, "base weight after unmerge");

        // The order of SetAdapters is the order of addition; the sum does not depend on it for weight deltas.
        attachment.SetAdapters(new[] { "lora", "default" });
        using var swapped = Output(model, x);
        TestTensors.AssertClose(expected, swapped, 1e-5, 1e-5, "lora + default");
    }

    [Fact]
    public void Several_active_adapters_in_eval_mode_apply_no_dropout()
    {
        var (model, fc) = LinearModel();
        using var _ = model;
        var dropping = LoraOptions with { Dropout = 0.5 };
        var attachment = FloraInjector.Attach(model, new FloraConfig { TargetModules = new[] { "fc" }, Defaults = dropping }, FloraMethod.Lora);
        Randomise(attachment, 900);
        var first = attachment.Adapters[0];
        attachment.AddAdapter("second", FloraMethod.Lora, dropping);
        attachment.SetAdapter("second");
        Randomise(attachment, 950);
        var second = attachment.Adapters[0];
        attachment.SetAdapters(new[] { "default", "second" });
        model.eval();
        using var x = TestTensors.Randn(new long[] { 8, 6 }, 10);
        using var output = Output(model, x);
        using var expected = LinearFormula(x, fc, new[] { ((LoraLinear)first).Delta(), ((LoraLinear)second).Delta() });
        TestTensors.AssertClose(expected, output, 1e-5, 1e-5, "eval mode: no dropout on either adapter");
    }

    [Fact]
    public void Several_active_adapters_train_together_and_the_inactive_one_gets_no_gradient()
    {
        var (model, attachment) = Create();
        using var _ = model;
        attachment.AddAdapter("idle", FloraMethod.Lora, LoraOptions);
        attachment.SetAdapters(new[] { "default", "lora" });
        var active = attachment.Adapters.SelectMany(a => a.AdapterTensors.Select(t => t.Tensor)).ToArray();
        attachment.SetAdapter("idle");
        var idle = attachment.Adapters.SelectMany(a => a.AdapterTensors.Select(t => t.Tensor)).ToArray();
        attachment.SetAdapters(new[] { "default", "lora" });
        Assert.Equal(active, attachment.Parameters());
        model.train();
        using var x = Input();
        using (var loss = model.call(x).square().mean()) loss.backward();
        Assert.All(active, p => Assert.True(p.grad is not null && p.grad.abs().sum().item<float>() > 0, "an active adapter's tensor gets a gradient"));
        Assert.All(idle, p => Assert.Null(p.grad));
    }

    [Fact]
    public void AdaLoRA_keeps_one_allocator_per_adapter_and_the_regulariser_sums_the_active_ones()
    {
        var options = new FloraModelOptions { LoraAlpha = 8, AdaLora = new AdaLoraOptions { InitRank = 4, TargetRank = 2, TotalSteps = 8, TInit = 1, TFinal = 2 } };
        using var model = new TinyNet();
        model.eval();
        var attachment = FloraInjector.Attach(model, TinyNet.Config(options), FloraMethod.AdaLora);
        Randomise(attachment, 1000);
        attachment.AddAdapter("b", FloraMethod.AdaLora, options);
        attachment.SetAdapter("b");
        Randomise(attachment, 1100);
        using var termB = attachment.OrthogonalRegularization();
        attachment.SetAdapter("default");
        using var termDefault = attachment.OrthogonalRegularization();
        attachment.SetAdapters(new[] { "default", "b" });
        using var both = attachment.OrthogonalRegularization();
        Assert.Equal(termDefault.item<float>() + termB.item<float>(), both.item<float>(), 4);
        Assert.True(termDefault.item<float>() > 0 && termB.item<float>() > 0 && termDefault.item<float>() != termB.item<float>());

        // Each active adapter's allocator steps on its own gradients; an inactive one is not consulted.
        foreach (var tensor in attachment.Parameters()) tensor.grad = TestTensors.Randn(tensor.shape, 1200);
        attachment.UpdateAndAllocate(1);
        attachment.SetAdapter("b");
        foreach (var tensor in attachment.Parameters()) tensor.grad = null;
        Assert.Contains("gradient", Assert.Throws<InvalidOperationException>(() => attachment.UpdateAndAllocate(2)).Message);
        attachment.SetAdapter("default");
        attachment.UpdateAndAllocate(2);
    }

    [Fact]
    public void Dora_among_several_rescales_the_running_result_as_PEFT_does()
    {
        var (model, fc) = LinearModel();
        using var _ = model;
        var attachment = FloraInjector.Attach(model, new FloraConfig { TargetModules = new[] { "fc" }, Defaults = LoraOptions }, FloraMethod.Lora);
        Randomise(attachment, 500);
        var lora = (LoraLinear)attachment.Adapters[0];
        attachment.AddAdapter("dora", FloraMethod.Dora, LoraOptions);
        attachment.SetAdapter("dora");
        Randomise(attachment, 600);
        var dora = (DoraLinear)attachment.Adapters[0];
        attachment.SetAdapters(new[] { "default", "dora" });
        using var x = TestTensors.Randn(new long[] { 3, 6 }, 9);
        using var output = Output(model, x);

        // PEFT (lora/variants.py, DoraLinearVariant.forward without dropout): result = base(x) + lora(x);
        // result += (m/‖W0 + ΔW_dora‖ − 1)·(result − b) + m/‖W0 + ΔW_dora‖ · ΔW_dora x.
        using var result = LinearFormula(x, fc, new[] { lora.Delta() });
        using var w0 = fc.weight!.detach().to(ScalarType.Float64);
        using var doraDelta = dora.Delta().to(ScalarType.Float64);
        using var norm = (w0 + doraDelta).square().sum(1).sqrt();
        using var magnitude = dora.AdapterTensors.Single(t => t.Key == "magnitude").Tensor.detach().to(ScalarType.Float64).reshape(-1);
        using var ratio = magnitude / norm;
        using var bias = fc.bias!.detach().to(ScalarType.Float64);
        using var x64 = x.to(ScalarType.Float64);
        using var doraUpdate = x64.matmul(doraDelta.t());
        using var expected = result + (ratio - 1) * (result - bias) + ratio * doraUpdate;
        TestTensors.AssertClose(expected, output, 1e-5, 1e-5, "lora then dora");
    }

    [Fact]
    public void Deleting_an_adapter_restores_the_others()
    {
        var (model, attachment) = Create();
        using var _ = model;
        using var x = Input();
        using var floraOutput = Output(model, x);
        attachment.SetAdapter("lora");

        attachment.DeleteAdapter("lora"); // the active one: the first remaining becomes active, as PEFT does
        Assert.Equal(new[] { "default" }, attachment.AdapterNames);
        Assert.Equal(new[] { "default" }, attachment.ActiveAdapters);
        using var afterDelete = Output(model, x);
        TestTensors.AssertBitEqual(floraOutput, afterDelete, "'default' after deleting 'lora'");

        attachment.AddAdapter("lora2", FloraMethod.Lora, LoraOptions);
        attachment.SetAdapters(new[] { "default", "lora2" });
        attachment.DeleteAdapter("default");
        Assert.Equal(new[] { "lora2" }, attachment.ActiveAdapters);
        Assert.All(attachment.Adapters, a => Assert.IsAssignableFrom<LoraLayer>(a));
        using var base_ = Output(model, x);
        attachment.Detach();
        using var detached = Output(model, x);
        TestTensors.AssertBitEqual(detached, base_, "a fresh LoRA adapter computes as the base");
    }

    [Fact]
    public void Detach_after_several_adapters_gives_the_exact_base_model()
    {
        using var model = new TinyNet();
        model.eval();
        var before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        using var x = Input();
        using var baseOutput = Output(model, x);
        var attachment = FloraInjector.Attach(model, TinyNet.Config(FloraOptions));
        Randomise(attachment, 700);
        attachment.AddAdapter("houlsby", FloraMethod.Houlsby, LoraOptions with { AdapterSize = 2 });
        attachment.AddAdapter("lora", FloraMethod.Lora, LoraOptions);
        attachment.SetAdapters(new[] { "lora", "default", "houlsby" });
        Randomise(attachment, 800);
        using (var disabled = attachment.Disable())
        {
            using var off = Output(model, x);
            TestTensors.AssertBitEqual(baseOutput, off, "all adapters disabled");
        }
        using var on = Output(model, x);
        Assert.False(on.allclose(baseOutput), "the active adapters change the output");
        attachment.Detach();
        using var after = Output(model, x);
        TestTensors.AssertBitEqual(baseOutput, after, "after detach");
        var state = model.state_dict();
        Assert.Equal(before.Keys.OrderBy(k => k), state.Keys.OrderBy(k => k));
        foreach (var (key, value) in before) TestTensors.AssertBitEqual(value, state[key], key);
    }

    [Fact]
    public void Modules_to_save_keep_one_copy_per_adapter()
    {
        using var model = new HeadNet(seed: 3);
        model.eval();
        using var original = model.Head.weight!.detach().clone();
        var attachment = FloraInjector.Attach(model, HeadNet.Config());
        using var trainedDefault = TestTensors.Randn(original.shape, 31);
        using var trainedB = TestTensors.Randn(original.shape, 32);
        using (torch.no_grad()) model.Head.weight!.copy_(trainedDefault);

        attachment.AddAdapter("b", FloraMethod.Lora);
        TestTensors.AssertBitEqual(trainedDefault, model.Head.weight!, "adding leaves the active copy");
        attachment.SetAdapter("b");
        TestTensors.AssertBitEqual(original, model.Head.weight!, "a new adapter starts from the original module");
        Assert.Contains(attachment.Parameters(), p => ReferenceEquals(p, model.Head.weight));
        using (torch.no_grad()) model.Head.weight!.copy_(trainedB);
        attachment.SetAdapter("default");
        TestTensors.AssertBitEqual(trainedDefault, model.Head.weight!, "'default' gets its copy back");
        attachment.SetAdapter("b");
        TestTensors.AssertBitEqual(trainedB, model.Head.weight!, "'b' gets its copy back");

        var together = Assert.Throws<InvalidOperationException>(() => attachment.SetAdapters(new[] { "default", "b" }));
        Assert.Contains("head", together.Message);
        Assert.Equal(new[] { "b" }, attachment.ActiveAdapters);
        attachment.Detach();
        TestTensors.AssertBitEqual(original, model.Head.weight!, "detach restores the original module");
    }

    [Fact]
    public void Bad_requests_name_the_adapter_and_the_fix_and_change_nothing()
    {
        var (model, attachment) = Create();
        using var _ = model;
        using var x = Input();
        using var before = Output(model, x);

        var unknown = Assert.Throws<KeyNotFoundException>(() => attachment.SetAdapter("nope"));
        Assert.Contains("'nope'", unknown.Message);
        Assert.Contains("'lora'", unknown.Message);
        Assert.Contains("AddAdapter", unknown.Message);
        Assert.Throws<KeyNotFoundException>(() => attachment.SetAdapters(new[] { "lora", "nope" }));
        Assert.Throws<KeyNotFoundException>(() => attachment.DeleteAdapter("nope"));
        var duplicate = Assert.Throws<ArgumentException>(() => attachment.AddAdapter("lora", FloraMethod.Dora));
        Assert.Contains("already attached", duplicate.Message);
        Assert.Contains("'lora'", duplicate.Message);
        foreach (var bad in new[] { "", "a/b", "..", "with space", "__base__" })
            Assert.Contains($"'{bad}' is not a usable adapter name", Assert.Throws<ArgumentException>(() => attachment.AddAdapter(bad, FloraMethod.Lora)).Message);
        Assert.Contains("name each active adapter once", Assert.Throws<ArgumentException>(() => attachment.SetAdapters(new[] { "lora", "lora" })).Message);
        Assert.Throws<ArgumentException>(() => attachment.SetAdapters(Array.Empty<string>()));
        Assert.Contains("BitFit", Assert.Throws<ArgumentException>(() => attachment.AddAdapter("bias", FloraMethod.BitFit)).Message);

        attachment.Merge();
        Assert.Contains("Unmerge()", Assert.Throws<InvalidOperationException>(() => attachment.SetAdapter("lora")).Message);
        Assert.Contains("Unmerge()", Assert.Throws<InvalidOperationException>(() => attachment.DeleteAdapter("lora")).Message);
        Assert.Contains("Unmerge()", Assert.Throws<InvalidOperationException>(() => attachment.AddAdapter("c", FloraMethod.Lora)).Message);
        attachment.Unmerge();
        using (attachment.Disable())
            Assert.Contains("disabled", Assert.Throws<InvalidOperationException>(() => attachment.SetAdapter("lora")).Message);

        attachment.DeleteAdapter("lora");
        var last = Assert.Throws<InvalidOperationException>(() => attachment.DeleteAdapter("default"));
        Assert.Contains("Detach()", last.Message);
        Assert.Equal(new[] { "default" }, attachment.AdapterNames);
        Assert.Equal(new[] { "default" }, attachment.ActiveAdapters);
        using var after = Output(model, x);
        TestTensors.AssertClose(before, after, 1e-6, 1e-6, "output after the refused requests (and a merge/unmerge round trip)");
    }
}
