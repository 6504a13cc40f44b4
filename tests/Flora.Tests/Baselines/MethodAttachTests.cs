using Flora.Tests.Injection;
using Xunit.Abstractions;

namespace Flora.Tests.Baselines;

/// <summary>LoRA, DoRA, BitFit and AdaLoRA attached to a whole model through <see cref="FloraInjector.Attach"/>: the same guarantees as FLoRA.</summary>
public class MethodAttachTests(ITestOutputHelper output)
{
    private static Tensor Input(long seed = 11) => TestTensors.Randn(new long[] { 4, 3, 12, 12 }, seed);

    private static Dictionary<string, Tensor> Snapshot(nn.Module model) =>
        model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());

    private static void Randomise(FloraAttachment attachment, long seed)
    {
        foreach (var (adapter, i) in attachment.Adapters.Select((a, i) => (a, i))) BaselineTensors.Randomise(adapter, seed + i);
    }

    public static TheoryData<FloraMethod> Methods() => new() { FloraMethod.Lora, FloraMethod.Dora, FloraMethod.BitFit, FloraMethod.AdaLora };

    /// <summary>The tensor names each method registers on <c>conv1</c> (BitFit's is the base layer's own bias).</summary>
    private static string[] Conv1Tensors(FloraMethod method) => method switch
    {
        FloraMethod.Lora => new[] { "conv1.lora_A", "conv1.lora_B" },
        FloraMethod.Dora => new[] { "conv1.lora_A", "conv1.lora_B", "conv1.magnitude" },
        FloraMethod.AdaLora => new[] { "conv1.lora_A", "conv1.lora_B", "conv1.lora_E" },
        _ => new[] { "conv1.base_layer.bias" },
    };

    [Theory]
    [MemberData(nameof(Methods))]
    public void At_attach_the_model_equals_the_base_and_only_the_methods_tensors_train(FloraMethod method)
    {
        using var model = new TinyNet();
        model.eval();
        using var x = Input();
        using var before = model.forward(x);

        var attachment = FloraInjector.Attach(model, TinyNet.Config(), method);
        Assert.Equal(method, attachment.Method);
        Assert.All(attachment.Adapters, a => Assert.Equal(method, a.Method));
        using var after = model.forward(x);
        TestTensors.AssertBitEqual(before, after, $"{method} output right after attach");

        var named = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var name in Conv1Tensors(method)) Assert.Contains(name, named.Keys);
        var adapterTensors = attachment.Parameters().ToHashSet();
        Assert.Equal(attachment.TrainableParameters, adapterTensors.Sum(p => p.numel()));
        foreach (var (name, parameter) in named)
            Assert.True(adapterTensors.Contains(parameter) == parameter.requires_grad, $"{name}: requires_grad {parameter.requires_grad}");
        Assert.Equal(named.Values.Where(p => p.requires_grad).Sum(p => p.numel()), attachment.TrainableParameters);

        model.train();
        using var loss = model.forward(x).square().mean();
        loss.backward();
        foreach (var (name, parameter) in named)
        {
            if (adapterTensors.Contains(parameter)) Assert.True(parameter.grad is not null, $"{name} gets a gradient");
            else Assert.True(parameter.grad is null, $"{name} gets no gradient");
        }
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void A_few_AdamW_steps_reduce_the_loss(FloraMethod method)
    {
        torch.random.manual_seed(1);
        using var model = new TinyNet();
        using var x = Input();
        using var baseOutput = model.forward(x).detach();
        // Reachable by every method (a shift per output is within BitFit's reach through the head's bias).
        using var target = baseOutput + TestTensors.Randn(new long[] { 10 }, seed: 12);
        var attachment = FloraInjector.Attach(model, TinyNet.Config(), method);
        var optimizer = torch.optim.AdamW(attachment.Parameters(), lr: 2e-2);
        double first = 0, last = 0;
        for (int step = 0; step < 30; step++)
        {
            using var scope = torch.NewDisposeScope();
            optimizer.zero_grad();
            var loss = nn.functional.mse_loss(model.forward(x), target);
            loss.backward();
            optimizer.step();
            if (step == 0) first = loss.item<float>();
            last = loss.item<float>();
        }
        output.WriteLine($"{method}: loss {first:G4} → {last:G4} in 30 AdamW steps");
        Assert.True(last < 0.5 * first, $"{method}: loss went from {first} to {last}");
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void Merged_equals_unmerged_and_unmerge_restores_the_weights(FloraMethod method)
    {
        using var model = new TinyNet();
        model.eval();
        var attachment = FloraInjector.Attach(model, TinyNet.Config(), method);
        Randomise(attachment, seed: 100);
        var weights = Snapshot(model);
        using var x = Input();
        using var unmerged = model.forward(x);

        attachment.Merge();
        using var merged = model.forward(x);
        TestTensors.AssertClose(unmerged, merged, 1e-4, 1e-5, $"{method} merged vs unmerged");
        Assert.Contains("already merged", Assert.Throws<InvalidOperationException>(attachment.Merge).Message);

        attachment.Unmerge();
        foreach (var (key, value) in Snapshot(model))
            TestTensors.AssertClose(weights[key], value, 1e-5, 1e-6, $"{method} {key}");
        using var again = model.forward(x);
        TestTensors.AssertClose(unmerged, again, 1e-5, 1e-5, $"{method} after unmerge");
        Assert.Throws<InvalidOperationException>(attachment.Unmerge);
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void Detach_restores_the_exact_base_model_after_training(FloraMethod method)
    {
        using var model = new TinyNet();
        model.eval();
        using var x = Input();
        using var before = model.forward(x);
        var children = model.named_children().Select(c => (c.name, c.module)).ToList();
        var weights = Snapshot(model);
        var flags = model.named_parameters().Select(p => (p.name, p.parameter.requires_grad)).ToList();

        var attachment = FloraInjector.Attach(model, TinyNet.Config(), method);
        Randomise(attachment, seed: 200); // BitFit: the base biases themselves change
        var optimizer = torch.optim.AdamW(attachment.Parameters(), lr: 1e-2);
        for (int step = 0; step < 3; step++)
        {
            using var scope = torch.NewDisposeScope();
            optimizer.zero_grad();
            model.forward(x).square().mean().backward();
            optimizer.step();
        }
        using (var adapted = model.forward(x)) Assert.False(adapted.allclose(before), "the adapters change the output");
        attachment.Detach();

        Assert.Equal(children, model.named_children().Select(c => (c.name, c.module)).ToList());
        Assert.Equal(weights.Keys, model.state_dict().Keys);
        foreach (var (key, value) in model.state_dict()) TestTensors.AssertBitEqual(weights[key], value, $"{method} {key}");
        Assert.Equal(flags, model.named_parameters().Select(p => (p.name, p.parameter.requires_grad)).ToList());
        using var after = model.forward(x);
        TestTensors.AssertBitEqual(before, after, $"{method} output after detach");

        var again = FloraInjector.Attach(model, TinyNet.Config(), method);
        Assert.Equal(5, again.Adapters.Count);
    }

    [Fact]
    public void BitFit_detach_is_bit_exact_even_after_a_merge()
    {
        using var model = new TinyNet();
        var weights = Snapshot(model);
        var attachment = FloraInjector.Attach(model, TinyNet.Config(), FloraMethod.BitFit);
        Randomise(attachment, seed: 300);
        attachment.Merge();
        attachment.Detach();
        foreach (var (key, value) in model.state_dict()) TestTensors.AssertBitEqual(weights[key], value, key);
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void Adapters_follow_the_model_to_another_dtype(FloraMethod method)
    {
        using var model = new TinyNet();
        var attachment = FloraInjector.Attach(model, TinyNet.Config(), method);
        Randomise(attachment, seed: 400);
        model.to(ScalarType.BFloat16);
        Assert.All(attachment.Parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
        Assert.All(attachment.Parameters(), p => Assert.True(p.requires_grad));
        using var x = Input().to(ScalarType.BFloat16);
        using var y = model.forward(x);
        Assert.Equal(ScalarType.BFloat16, y.dtype);
        attachment.Merge();
        attachment.Unmerge();
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void Unsupported_layers_keep_the_clear_error(FloraMethod method)
    {
        using var model = new TinyNet();
        var bn = model.named_modules().Single(m => m.name == "bn").module;
        var slot = new ModuleSlot(model, "bn", (nn.Module<Tensor, Tensor>)bn);
        var error = Assert.Throws<ArgumentException>(() => FloraAttachment.Attach(model, new[] { new FloraTarget(slot, FloraTargetOptions.Inherit) }, Array.Empty<ModuleToSave>(), new FloraModelOptions(), method));
        Assert.Contains("'bn' is a BatchNorm2d", error.Message);
        Assert.All(model.parameters(), p => Assert.True(p.requires_grad));
    }

    [Fact]
    public void Lora_alpha_and_rsLora_come_from_the_model_options()
    {
        using var model = new TinyNet();
        var attachment = FloraInjector.Attach(model, TinyNet.Config(new FloraModelOptions { Rank = 4, R3 = 2, LoraAlpha = 16, UseRsLora = true }), FloraMethod.Lora);
        var head = (LoraLinear)attachment["head"];
        int r = head.Config.Rank;
        Assert.Equal(16 / System.Math.Sqrt(r), head.Spec.Scale, 12);
        Assert.Equal($"r={r} α=16 rsLoRA", head.Describe());

        using var other = new TinyNet();
        var bad = Assert.Throws<ArgumentException>(() => FloraInjector.Attach(other, TinyNet.Config(new FloraModelOptions { LoraAlpha = double.NaN }), FloraMethod.Dora));
        Assert.Contains("LoRA alpha NaN of 'conv1'", bad.Message);
        Assert.All(other.parameters(), p => Assert.True(p.requires_grad));
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void Adapters_attached_inside_a_dispose_scope_outlive_it(FloraMethod method)
    {
        using var model = new TinyNet();
        FloraAttachment attachment;
        using (torch.NewDisposeScope()) attachment = FloraInjector.Attach(model, TinyNet.Config(), method);
        Assert.All(attachment.Parameters(), p => Assert.False(p.IsInvalid));
        using var x = Input();
        using var y = model.forward(x);
        attachment.Merge();
        attachment.Detach();
    }
}
