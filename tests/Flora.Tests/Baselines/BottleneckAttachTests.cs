using System.IO;
using Flora.Tests.Peft;

namespace Flora.Tests.Baselines;

/// <summary>
/// Houlsby and Pfeiffer attached to whole models: the start at the base, training, disable, detach, the placement of
/// Pfeiffer's one adapter per block, the widths matched to FLoRA's budget, and the refusals to merge and to export to PEFT.
/// </summary>
public sealed class BottleneckAttachTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flora-bottleneck-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<FloraMethod> Methods() => new() { FloraMethod.Houlsby, FloraMethod.Pfeiffer };

    private static string[] AdaptedNames(FloraMethod method) => method == FloraMethod.Houlsby ? KindsNet.TargetNames : KindsNet.PfeifferNames;

    /// <summary>The width whose count <c>2·c·m + m + c</c> is closest to <paramref name="budget"/> (ties to the smaller), by trying every width.</summary>
    private static int ClosestWidth(long channels, long budget) =>
        Enumerable.Range(1, 10_000).MinBy(m => (System.Math.Abs(2 * channels * m + m + channels - budget), m));

    [Theory]
    [MemberData(nameof(Methods))]
    public void At_attach_the_model_equals_the_base_and_only_the_bottlenecks_train(FloraMethod method)
    {
        using var model = new KindsNet();
        model.eval();
        using var x = KindsNet.Input(seed: 1);
        using var before = model.forward(x);

        var attachment = FloraInjector.Attach(model, KindsNet.Config(), method);
        Assert.Equal(AdaptedNames(method), attachment.Adapters.Select(a => a.Name));
        Assert.All(attachment.Adapters, a => Assert.IsType<BottleneckAdapterLayer>(a));
        Assert.All(attachment.Adapters, a => Assert.Equal(method, a.Method));
        using var after = model.forward(x);
        TestTensors.AssertBitEqual(before, after, $"{method} output right after attach");

        var named = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var name in AdaptedNames(method))
            foreach (var key in new[] { "adapter_down.weight", "adapter_down.bias", "adapter_up.weight", "adapter_up.bias" })
                Assert.Contains($"{name}.{key}", named.Keys);
        var trainable = attachment.Parameters().ToHashSet();
        foreach (var (name, parameter) in named)
            Assert.True(trainable.Contains(parameter) == parameter.requires_grad, $"{name}: requires_grad {parameter.requires_grad}");
        Assert.Equal(named.Values.Where(p => p.requires_grad).Sum(p => p.numel()), attachment.TrainableParameters);
        Assert.Contains($"{attachment.Adapters[0].Describe()}", attachment.ToString());
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void Train_save_load_into_a_fresh_model_disable_and_detach(FloraMethod method)
    {
        using var model = new KindsNet();
        model.eval();
        var baseState = RuleResNet.Snapshot(model);
        using var x = KindsNet.Input(seed: 2);
        using var baseOutput = model.forward(x);
        using var target = TestTensors.Randn(baseOutput.shape, seed: 3);

        var attachment = FloraInjector.Attach(model, KindsNet.Config(), method);
        var optimizer = torch.optim.AdamW(attachment.Parameters(), lr: 1e-2);
        double first = 0, last = 0;
        for (int step = 0; step < 10; step++)
        {
            using var scope = torch.NewDisposeScope();
            optimizer.zero_grad();
            var loss = nn.functional.mse_loss(model.forward(x), target);
            loss.backward();
            optimizer.step();
            if (step == 0) first = loss.item<float>();
            last = loss.item<float>();
        }
        Assert.True(last < first, $"{method}: loss {first} → {last}");
        var bottlenecks = attachment.Adapters.Cast<BottleneckAdapterLayer>().ToList();
        Assert.All(bottlenecks, b => Assert.True(b.Up.abs().max().item<float>() > 0, $"{b.Name}: up trained away from zero"));
        using var adapted = model.forward(x);
        Assert.False(adapted.allclose(baseOutput), "the trained adapters change the output");

        string path = Path.Combine(_dir, $"{method}.safetensors");
        attachment.Save(path);
        Assert.Equal(method.ToString().ToLowerInvariant(), AdapterFile.ReadConfig(path).Method);

        using (var fresh = new KindsNet())
        {
            fresh.load_state_dict(baseState);
            fresh.eval();
            var loaded = FloraInjector.AttachFromFile(fresh, path);
            Assert.Equal(method, loaded.Method);
            Assert.Equal(attachment.Adapters.Select(a => (a.Name, a.Spec)), loaded.Adapters.Select(a => (a.Name, a.Spec)));
            TestTensors.AssertBitEqual(adapted, fresh.forward(x), $"{method}: the fresh model with the file's adapters");
        }

        using (attachment.Disable())
        {
            TestTensors.AssertBitEqual(baseOutput, model.forward(x), $"{method} disabled");
            Assert.Throws<InvalidOperationException>(() => attachment.Save(path));
        }
        TestTensors.AssertBitEqual(adapted, model.forward(x), $"{method} enabled again");

        attachment.Detach();
        RuleResNet.AssertUnchanged(baseState, model);
        TestTensors.AssertBitEqual(baseOutput, model.forward(x), $"{method} output after detach");
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void Adapters_follow_the_model_to_bfloat16_and_keep_computing(FloraMethod method)
    {
        using var model = new KindsNet();
        model.eval();
        var attachment = FloraInjector.Attach(model, KindsNet.Config(), method);
        foreach (var (adapter, i) in attachment.Adapters.Select((a, i) => (a, i))) BaselineTensors.Randomise(adapter, seed: 60 + i);
        using var x = KindsNet.Input(seed: 4);
        using var float32 = model.forward(x);
        model.to(ScalarType.BFloat16);
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var adapter in attachment.Adapters.Cast<BottleneckAdapterLayer>())
        {
            Assert.Equal(ScalarType.BFloat16, adapter.Down.dtype);
            Assert.Same(parameters[adapter.Name + ".adapter_up.weight"], adapter.Up); // the cached tensors follow the conversion
        }
        using var y = model.forward(x.to(ScalarType.BFloat16));
        Assert.Equal(ScalarType.BFloat16, y.dtype);
        TestTensors.AssertClose(float32, y, 5e-2, 5e-2 * float32.abs().max().item<float>(), $"{method} in bf16");
    }

    [Fact]
    public void Pfeiffer_puts_one_adapter_per_block_after_the_last_target_of_each_parent()
    {
        using var model = new TwoBlockNet();
        model.eval();
        using var x = TestTensors.Randn(new long[] { 2, 3, 8, 8 }, seed: 5);
        using var before = model.forward(x);
        var attachment = FloraInjector.Attach(model, TwoBlockNet.Config(), FloraMethod.Pfeiffer);
        // stem and fc share the model as parent (fc registered last); each block's conv1 and conv2 (conv2 last); the
        // downsampling Sequential holds one target.
        Assert.Equal(new[] { "layer1.conv2", "layer2.conv2", "layer2.downsample.0", "fc" }, attachment.Adapters.Select(a => a.Name));
        TestTensors.AssertBitEqual(before, model.forward(x), "Pfeiffer at attach");
        var modules = model.named_modules().ToDictionary(m => m.name, m => m.module);
        Assert.IsType<BottleneckAdapterLayer>(modules["layer1.conv2"]);
        Assert.IsNotType<BottleneckAdapterLayer>(modules["layer1.conv1"]);
        Assert.IsNotType<BottleneckAdapterLayer>(modules["stem"]);
        Assert.False(modules["layer1.conv1"].parameters().Single().requires_grad, "a target without an adapter stays frozen");

        using var other = new TwoBlockNet();
        var houlsby = FloraInjector.Attach(other, TwoBlockNet.Config(), FloraMethod.Houlsby);
        Assert.Equal(new[] { "stem", "layer1.conv1", "layer1.conv2", "layer2.conv1", "layer2.conv2", "layer2.downsample.0", "fc" }, houlsby.Adapters.Select(a => a.Name));
    }

    [Fact]
    public void Pfeiffer_follows_the_registration_order_not_the_order_of_the_targets()
    {
        using var model = new TwoBlockNet();
        var targets = FloraInjector.FindTargets(model, TwoBlockNet.Config()).Reverse().ToList();
        var attachment = FloraAttachment.Attach(model, targets, Array.Empty<ModuleToSave>(), new FloraModelOptions { Rank = 4, R3 = 2 }, FloraMethod.Pfeiffer);
        Assert.Equal(new[] { "fc", "layer2.downsample.0", "layer2.conv2", "layer1.conv2" }, attachment.Adapters.Select(a => a.Name));
    }

    [Fact]
    public void Pfeiffer_adapts_each_TorchVision_ResNet18_BasicBlock_after_conv2()
    {
        using var model = torchvision.models.resnet18(num_classes: 10);
        model.eval();
        using var x = TestTensors.Randn(new long[] { 1, 3, 32, 32 }, seed: 6);
        using var before = model.call(x);
        var attachment = FloraInjector.Attach(model, new FloraConfig { TargetModules = new[] { @"layer\d\.\d\.conv[12]" } }, FloraMethod.Pfeiffer);
        var expected = new[] { 1, 2, 3, 4 }.SelectMany(l => new[] { $"layer{l}.0.conv2", $"layer{l}.1.conv2" });
        Assert.Equal(expected, attachment.Adapters.Select(a => a.Name));
        TestTensors.AssertBitEqual(before, model.call(x), "ResNet-18 with Pfeiffer adapters at attach");
        attachment.Detach();
        TestTensors.AssertBitEqual(before, model.call(x), "ResNet-18 after detach");
    }

    [Fact]
    public void Houlsby_widths_match_each_targets_FLoRA_budget()
    {
        var options = new FloraModelOptions { Rank = 3, R3 = 2 };
        using var model = new KindsNet();
        var houlsby = FloraInjector.Attach(model, KindsNet.Config(options), FloraMethod.Houlsby);
        using var twin = new KindsNet();
        var flora = FloraInjector.Attach(twin, KindsNet.Config(options), FloraMethod.Flora);
        foreach (var adapter in houlsby.Adapters.Cast<BottleneckAdapterLayer>())
        {
            long budget = flora[adapter.Name].TrainableParameters;
            Assert.Equal(ClosestWidth(adapter.Channels, budget), adapter.Size);
            Assert.Equal(BaselineSizeRules.MatchedBottleneckSize(adapter.Channels, budget), adapter.Size);
        }
    }

    [Fact]
    public void A_Pfeiffer_width_absorbs_the_FLoRA_budget_of_its_whole_block()
    {
        var options = new FloraModelOptions { Rank = 3, R3 = 2 };
        using var model = new KindsNet();
        var pfeiffer = FloraInjector.Attach(model, KindsNet.Config(options), FloraMethod.Pfeiffer);
        using var twin = new KindsNet();
        var flora = FloraInjector.Attach(twin, KindsNet.Config(options), FloraMethod.Flora);
        var block = (BottleneckAdapterLayer)pfeiffer["b2.conv2"];
        long budget = flora["b2.conv1"].TrainableParameters + flora["b2.conv2"].TrainableParameters;
        Assert.Equal(ClosestWidth(4, budget), block.Size);
        Assert.True(block.Size > ClosestWidth(4, flora["b2.conv2"].TrainableParameters), "the block's width exceeds what conv2's budget alone buys");
        foreach (var adapter in pfeiffer.Adapters.Cast<BottleneckAdapterLayer>().Where(a => a.Name != "b2.conv2"))
            Assert.Equal(ClosestWidth(adapter.Channels, flora[adapter.Name].TrainableParameters), adapter.Size);
        // Each width is within half a width's step of its budget, so the totals agree to that.
        long tolerance = pfeiffer.Adapters.Cast<BottleneckAdapterLayer>().Sum(a => a.Channels + 1);
        Assert.InRange(pfeiffer.TrainableParameters, flora.TrainableParameters - tolerance, flora.TrainableParameters + tolerance);
    }

    /// <summary>
    /// MiniConvNext's six targets all have the model as parent, so Pfeiffer puts one adapter after the head (registered
    /// last), its width matched to the whole FLoRA budget (137 + 109 + 336 + 336 + 264 + 184 = 1366, see
    /// <see cref="SummaryTests"/>): 21m + 10 → m=65, 1375.
    /// </summary>
    [Fact]
    public void Pfeiffer_on_a_flat_model_puts_the_whole_budget_after_the_last_target_and_the_summary_lines_up()
    {
        using var model = new MiniConvNext();
        var attachment = FloraInjector.Attach(model, MiniConvNext.Config(), FloraMethod.Pfeiffer);
        Assert.Equal("head", attachment.Adapters.Single().Name);
        Assert.Equal(65, ((BottleneckAdapterLayer)attachment["head"]).Size);
        Assert.Equal(1375, attachment.TrainableParameters);
        var lines = attachment.ToString().Split('\n');
        Assert.Equal(3, lines.Length);
        Assert.Equal(lines[0].IndexOf("adapter", StringComparison.Ordinal), lines[1].IndexOf("m=65 relu", StringComparison.Ordinal));
        Assert.Contains("Pfeiffer", lines[1]);
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void An_explicit_AdapterSize_wins_over_matching_and_a_targets_own_over_the_models(FloraMethod method)
    {
        using var model = new KindsNet();
        var config = KindsNet.Config(new FloraModelOptions { Rank = 3, R3 = 2, AdapterSize = 3 }) with
        {
            Overrides = new[] { ("fc", new FloraTargetOptions { AdapterSize = 2 }) },
        };
        var attachment = FloraInjector.Attach(model, config, method);
        foreach (var adapter in attachment.Adapters.Cast<BottleneckAdapterLayer>())
        {
            int expected = adapter.Name == "fc" ? 2 : 3;
            Assert.Equal(expected, adapter.Size);
            Assert.Equal(2 * adapter.Channels * expected + expected + adapter.Channels, adapter.TrainableParameters);
        }
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void Merging_is_refused_naming_the_method_and_nothing_changes(FloraMethod method)
    {
        using var model = new KindsNet();
        model.eval();
        var attachment = FloraInjector.Attach(model, KindsNet.Config(), method);
        foreach (var (adapter, i) in attachment.Adapters.Select((a, i) => (a, i))) BaselineTensors.Randomise(adapter, seed: 80 + i);
        using var x = KindsNet.Input(seed: 7);
        using var adapted = model.forward(x);
        var state = RuleResNet.Snapshot(model);

        foreach (var action in new Action[] { attachment.Merge, attachment.MergeAndDetach, attachment.Unmerge, attachment.Adapters[0].Merge, attachment.Adapters[0].Unmerge })
        {
            var error = Assert.Throws<InvalidOperationException>(action);
            Assert.StartsWith($"{method} adapters cannot be merged", error.Message);
            Assert.Contains("Save the adapter", error.Message);
            Assert.Contains("keep it unmerged", error.Message);
        }
        Assert.False(attachment.IsMerged);
        Assert.False(attachment.IsDetached);
        Assert.Equal(AdaptedNames(method), attachment.Adapters.Select(a => a.Name));
        AssertStateEqual(state, model);
        TestTensors.AssertBitEqual(adapted, model.forward(x), $"{method} output after the refusals");
        attachment.Save(Path.Combine(_dir, "still-savable.safetensors"));
        attachment.Detach();
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void SavePeft_is_refused_naming_the_method_before_anything_is_written(FloraMethod method)
    {
        using var model = new KindsNet();
        var attachment = FloraInjector.Attach(model, KindsNet.Config(), method);
        string directory = Path.Combine(_dir, "peft");
        var error = Assert.Throws<InvalidOperationException>(() => attachment.SavePeft(directory));
        Assert.StartsWith($"{method} adapters cannot be exported to PEFT", error.Message);
        Assert.Contains("Flora's own adapter file (Save)", error.Message);
        Assert.False(Directory.Exists(directory));
        Assert.Empty(Directory.GetFileSystemEntries(_dir));
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void A_bad_target_leaves_the_model_untouched(FloraMethod method)
    {
        using var model = new KindsNet();
        var state = RuleResNet.Snapshot(model);
        var names = model.named_modules().Select(m => m.name).ToList();
        // b2.conv1 takes no Pfeiffer adapter, yet its invalid FLoRA rank (its budget feeds the block's width) is refused.
        var config = KindsNet.Config() with { Overrides = new[] { ("conv1", new FloraTargetOptions { R3 = 5 }) } };
        var error = Assert.Throws<ArgumentException>(() => FloraInjector.Attach(model, config, method));
        Assert.Contains("'b2.conv1'", error.Message);
        Assert.Equal(names, model.named_modules().Select(m => m.name).ToList());
        RuleResNet.AssertUnchanged(state, model);
    }

    private static void AssertStateEqual(Dictionary<string, Tensor> state, nn.Module model)
    {
        var now = model.state_dict();
        Assert.Equal(state.Keys, now.Keys);
        foreach (var (key, value) in state) TestTensors.AssertBitEqual(value, now[key], key);
    }
}
