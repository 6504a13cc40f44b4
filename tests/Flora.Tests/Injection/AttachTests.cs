using TorchSharp.Modules;

namespace Flora.Tests.Injection;

/// <summary>Attaching, training, merging and detaching adapters on a whole model.</summary>
public class AttachTests
{
    private static Tensor Input(long seed = 11) => TestTensors.Randn(new long[] { 4, 3, 12, 12 }, seed);

    private static Dictionary<string, Tensor> Snapshot(nn.Module model) =>
        model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());

    [Fact]
    public void Targets_are_found_by_regex_or_suffix_in_model_order()
    {
        using var model = new TinyNet();
        var targets = FloraInjector.FindTargets(model, TinyNet.Config());
        Assert.Equal(TinyNet.TargetNames, targets.Select(t => t.Slot.Path));
        Assert.True(FloraInjector.Matches("pw", "seq.pw"));
        Assert.True(FloraInjector.Matches(@"blocks\.\d+", "blocks.0"));
        Assert.False(FloraInjector.Matches("conv", "conv1"));
        Assert.False(FloraInjector.Matches("head", "subhead"));
    }

    [Fact]
    public void At_attach_the_model_equals_the_base_and_only_adapters_train()
    {
        using var model = new TinyNet();
        model.eval();
        using var x = Input();
        using var before = model.forward(x);

        var attachment = FloraInjector.Attach(model, TinyNet.Config());
        using var after = model.forward(x);
        TestTensors.AssertBitEqual(before, after, "output right after attach");

        var named = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.Contains("conv1.core", named.Keys);
        Assert.Contains("conv1.factor.k1", named.Keys);
        Assert.Contains("conv1.base_layer.weight", named.Keys);
        Assert.Contains("seq.pw.core", named.Keys);
        Assert.Contains("blocks.0.factor.out", named.Keys);
        var adapterTensors = attachment.Parameters().ToHashSet();
        Assert.Equal(attachment.TrainableParameters, adapterTensors.Sum(p => p.numel()));
        foreach (var (name, parameter) in named)
            Assert.Equal(adapterTensors.Contains(parameter), parameter.requires_grad);
        Assert.Equal(named.Values.Where(p => p.requires_grad).Sum(p => p.numel()), attachment.TrainableParameters);

        model.train();
        using var loss = model.forward(x).square().mean();
        loss.backward();
        foreach (var (name, parameter) in named)
        {
            if (adapterTensors.Contains(parameter)) Assert.NotNull(parameter.grad);
            else Assert.Null(parameter.grad);
        }
        Assert.True(attachment.Adapters.All(a => ((FloraLayer)a).Core.grad!.abs().sum().item<float>() > 0), "every core gets a gradient");
    }

    [Fact]
    public void A_few_optimizer_steps_reduce_the_loss()
    {
        torch.random.manual_seed(1);
        using var model = new TinyNet();
        var attachment = FloraInjector.Attach(model, TinyNet.Config(new FloraModelOptions { Rank = 4, R3 = 2, Scale = 4 }));
        using var x = Input();
        using var target = TestTensors.Randn(new long[] { 4, 10 }, seed: 12);
        var optimizer = torch.optim.AdamW(attachment.Parameters(), lr: 1e-2);
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
        Assert.True(last < 0.8 * first, $"loss went from {first} to {last}");
    }

    [Fact]
    public void Merged_equals_unmerged_and_unmerge_restores_the_weights()
    {
        using var model = new TinyNet();
        model.eval();
        var attachment = FloraInjector.Attach(model, TinyNet.Config(new FloraModelOptions { Rank = 4, R3 = 2, Scale = 4 }));
        foreach (var (adapter, i) in attachment.Adapters.Select((a, i) => (a, i))) TestTensors.RandomiseCore((FloraLayer)adapter, 100 + i);
        var baseWeights = Snapshot(model);
        using var x = Input();
        using var unmerged = model.forward(x);

        attachment.Merge();
        Assert.True(attachment.IsMerged);
        using var merged = model.forward(x);
        TestTensors.AssertClose(unmerged, merged, 1e-4, 1e-5, "merged vs unmerged");
        var error = Assert.Throws<InvalidOperationException>(attachment.Merge);
        Assert.Contains("already merged", error.Message);

        attachment.Unmerge();
        foreach (var (key, value) in Snapshot(model))
            TestTensors.AssertClose(baseWeights[key], value, 1e-5, 1e-6, key);
        Assert.Throws<InvalidOperationException>(attachment.Unmerge);
    }

    [Fact]
    public void Detach_restores_the_exact_base_model_in_place()
    {
        using var model = new TinyNet();
        model.eval();
        using var x = Input();
        using var before = model.forward(x);
        var children = model.named_children().Select(c => (c.name, c.module)).ToList();
        var weights = Snapshot(model);
        var flags = model.named_parameters().Select(p => p.parameter.requires_grad).ToList();

        var attachment = FloraInjector.Attach(model, TinyNet.Config());
        foreach (var (adapter, i) in attachment.Adapters.Select((a, i) => (a, i))) TestTensors.RandomiseCore((FloraLayer)adapter, 200 + i);
        using (var adapted = model.forward(x)) Assert.False(adapted.allclose(before), "the adapters change the output");
        attachment.Detach();

        Assert.Equal(children, model.named_children().Select(c => (c.name, c.module)).ToList());
        Assert.Equal(weights.Keys, model.state_dict().Keys);
        foreach (var (key, value) in model.state_dict()) TestTensors.AssertBitEqual(weights[key], value, key);
        Assert.Equal(flags, model.named_parameters().Select(p => p.parameter.requires_grad).ToList());
        using var after = model.forward(x);
        TestTensors.AssertBitEqual(before, after, "output after detach");
        Assert.Throws<InvalidOperationException>(attachment.Merge);

        // A new attachment works on the restored model.
        var again = FloraInjector.Attach(model, TinyNet.Config());
        Assert.Equal(5, again.Adapters.Count);
    }

    [Fact]
    public void MergeAndDetach_leaves_a_plain_model_with_the_fine_tuned_weights()
    {
        using var model = new TinyNet();
        model.eval();
        var names = model.state_dict().Keys.ToList();
        var attachment = FloraInjector.Attach(model, TinyNet.Config(new FloraModelOptions { Rank = 4, R3 = 2, Scale = 4 }));
        foreach (var (adapter, i) in attachment.Adapters.Select((a, i) => (a, i))) TestTensors.RandomiseCore((FloraLayer)adapter, 300 + i);
        using var x = Input();
        using var adapted = model.forward(x);
        attachment.MergeAndDetach();
        Assert.True(attachment.IsDetached);
        Assert.Equal(names, model.state_dict().Keys.ToList());       // no adapter tensors, no base_layer prefix
        using var merged = model.forward(x);
        TestTensors.AssertClose(adapted, merged, 1e-4, 1e-5, "plain model with merged weights");
    }

    [Fact]
    public void Attaching_twice_is_refused_and_changes_nothing()
    {
        using var model = new TinyNet();
        FloraInjector.Attach(model, TinyNet.Config());
        var names = model.named_parameters().Select(p => p.name).ToList();
        var error = Assert.Throws<InvalidOperationException>(() => FloraInjector.Attach(model, TinyNet.Config()));
        Assert.Contains("'conv1' already has an adapter attached", error.Message);
        Assert.Equal(names, model.named_parameters().Select(p => p.name).ToList());
    }

    [Theory]
    [InlineData(0, 1, 0.4, "Rank 0 of 'conv1' is less than 1")]
    [InlineData(4, -1, 0.4, "R3 -1 of 'conv1' is less than 1")]
    [InlineData(4, 1, double.NaN, "Scale NaN of 'conv1' is not a finite number greater than 0")]
    [InlineData(4, 1, -0.5, "Scale -0.5 of 'conv1' is not a finite number greater than 0")]
    public void Bad_settings_name_the_layer_and_leave_the_model_untouched(int rank, int r3, double scale, string message)
    {
        using var model = new TinyNet();
        var names = model.named_parameters().Select(p => (p.name, p.parameter.requires_grad)).ToList();
        var error = Assert.Throws<ArgumentException>(() => FloraInjector.Attach(model, TinyNet.Config(new FloraModelOptions { Rank = rank, R3 = r3, Scale = scale })));
        Assert.Contains(message, error.Message);
        Assert.Equal(names, model.named_parameters().Select(p => (p.name, p.parameter.requires_grad)).ToList());
    }

    [Fact]
    public void An_explicit_R3_larger_than_a_kernel_axis_is_an_error_but_an_inherited_one_clamps()
    {
        using var model = new TinyNet();
        var config = TinyNet.Config(new FloraModelOptions { Rank = 4, R3 = 5 }) with
        {
            Overrides = new[] { ("conv1", new FloraTargetOptions { R3 = 4 }) },
        };
        var error = Assert.Throws<ArgumentException>(() => FloraInjector.Attach(model, config));
        Assert.Contains("R3 4 of 'conv1' exceeds kernel axis 0 of size 3", error.Message);
        Assert.Contains("Use R3 ≤ 3", error.Message);

        var attachment = FloraInjector.Attach(model, TinyNet.Config(new FloraModelOptions { Rank = 64, R3 = 5 }));
        var conv1 = (FloraLayer)attachment["conv1"];
        Assert.Equal(new[] { 8, 3, 3, 3 }, conv1.Config.Ranks);
        Assert.Equal(new[] { 8, 1, 5, 5 }, ((FloraLayer)attachment["dw"]).Config.Ranks); // 7×7: R3 5 fits
        Assert.Equal(new[] { 10, 8 }, ((FloraLayer)attachment["head"]).Config.Ranks);
    }

    [Fact]
    public void The_model_names_every_adapter_tensor_by_its_adapter_file_key()
    {
        using var model = new TinyNet();
        var attachment = FloraInjector.Attach(model, TinyNet.Config());
        var stateKeys = model.state_dict().Keys.ToHashSet();
        var fileKeys = attachment.Adapters.SelectMany(a => a.AdapterTensors.Select(t => $"{a.Name}.{t.Key}")).ToList();
        Assert.Contains("conv1.factor.out", fileKeys);
        Assert.All(fileKeys, key => Assert.Contains(key, stateKeys));
    }

    [Fact]
    public void Unsupported_layers_and_unmatched_names_are_clear_errors()
    {
        using var model = new TinyNet();
        var bn = model.named_modules().Single(m => m.name == "bn").module;
        var slot = new ModuleSlot(model, "bn", (nn.Module<Tensor, Tensor>)bn);
        var error = Assert.Throws<ArgumentException>(() => FloraAttachment.Attach(model, new[] { new FloraTarget(slot, FloraTargetOptions.Inherit) }, Array.Empty<ModuleToSave>(), new FloraModelOptions(), FloraMethod.Flora));
        Assert.Contains("'bn' is a BatchNorm2d, which FLoRA cannot adapt", error.Message);

        var none = Assert.Throws<ArgumentException>(() => FloraInjector.Attach(model, new FloraConfig { TargetModules = new[] { "missing" } }));
        Assert.Contains("No layer matches TargetModules [missing]", none.Message);
        Assert.Contains("conv1", none.Message);
        Assert.All(model.parameters(), p => Assert.True(p.requires_grad));
    }

    [Fact]
    public void Adapters_follow_the_model_to_another_dtype()
    {
        using var model = new TinyNet();
        var attachment = FloraInjector.Attach(model, TinyNet.Config());
        model.to(ScalarType.BFloat16);
        Assert.All(attachment.Parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
        using var x = Input().to(ScalarType.BFloat16);
        using var y = model.forward(x);
        Assert.Equal(ScalarType.BFloat16, y.dtype);
        attachment.Merge();
        attachment.Unmerge();
    }

    [Fact]
    public void Detach_after_moving_the_model_to_another_dtype_restores_trainability_by_name()
    {
        using var model = new TinyNet();
        var flags = model.named_parameters().Select(p => (p.name, p.parameter.requires_grad)).ToList();
        var attachment = FloraInjector.Attach(model, TinyNet.Config());
        model.to(ScalarType.Float64); // TorchSharp replaces every Parameter object
        attachment.Detach();
        Assert.Equal(flags, model.named_parameters().Select(p => (p.name, p.parameter.requires_grad)).ToList());
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.Float64, p.dtype));
    }

    [Fact]
    public void Adapters_attached_inside_a_dispose_scope_outlive_it()
    {
        using var model = new TinyNet();
        FloraAttachment attachment;
        using (torch.NewDisposeScope()) attachment = FloraInjector.Attach(model, TinyNet.Config());
        Assert.All(attachment.Parameters(), p => Assert.False(p.IsInvalid));
        using var x = Input();
        using var y = model.forward(x);
        Assert.Equal(new long[] { 4, 10 }, y.shape);
    }

    [Fact]
    public void The_summary_table_lists_every_adapter_and_the_total()
    {
        using var model = new TinyNet();
        var attachment = FloraInjector.Attach(model, TinyNet.Config());
        string table = attachment.ToString();
        foreach (var name in TinyNet.TargetNames) Assert.Contains(name, table);
        Assert.Contains(attachment.TrainableParameters.ToString("N0"), table);
        Assert.Contains("r=(4,1,2,2)", table); // depthwise: r_in clamps to in/groups = 1
    }
}
