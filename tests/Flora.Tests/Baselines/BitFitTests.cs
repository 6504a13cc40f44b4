namespace Flora.Tests.Baselines;

/// <summary>BitFit on single layers: the base bias itself is the trainable tensor; a layer without one contributes nothing.</summary>
public class BitFitTests
{
    [Fact]
    public void The_trainable_tensor_is_the_base_layers_own_bias()
    {
        using var scope = torch.NewDisposeScope();
        var conv = nn.Conv2d(4, 6, 3);
        var adapter = new BitFitLayer("conv", conv);
        var (key, tensor) = Assert.Single(adapter.AdapterTensors);
        Assert.Equal("bias", key);
        Assert.Same(conv.bias, tensor);
        Assert.Equal(6, adapter.TrainableParameters);
        Assert.Equal("bias[6]", adapter.Describe());
        Assert.Equal(new AdapterSpec("Conv2d", new long[] { 6, 4, 3, 3 }, Array.Empty<int>(), 1.0), adapter.Spec);
        Assert.All(adapter.named_parameters(), p => Assert.StartsWith("base_layer.", p.name)); // nothing registered of its own

        var x = TestTensors.Randn(new long[] { 2, 4, 7, 7 }, seed: 1);
        using (torch.no_grad()) conv.bias!.add_(1);
        TestTensors.AssertBitEqual(conv.forward(x), adapter.forward(x), "the adapted layer is the base layer");
        adapter.Merge();
        TestTensors.AssertBitEqual(conv.forward(x), adapter.forward(x), "merged");
        adapter.Unmerge();
    }

    [Fact]
    public void A_layer_without_a_bias_contributes_nothing_and_says_so()
    {
        using var scope = torch.NewDisposeScope();
        var linear = nn.Linear(8, 4, hasBias: false);
        var adapter = new BitFitLayer("head", linear);
        Assert.Empty(adapter.AdapterTensors);
        Assert.Equal(0, adapter.TrainableParameters);
        Assert.Equal("no bias", adapter.Describe());
        var x = TestTensors.Randn(new long[] { 3, 8 }, seed: 2);
        TestTensors.AssertBitEqual(linear.forward(x), adapter.forward(x), "unchanged");
    }

    [Fact]
    public void Detaching_restores_the_bias_values_of_attach_time()
    {
        using var model = nn.Sequential(("fc", nn.Linear(6, 5)), ("act", nn.ReLU()), ("out", nn.Linear(5, 3, hasBias: false)));
        var before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        var attachment = FloraInjector.Attach(model, new FloraConfig { TargetModules = new[] { "fc", "out" } }, FloraMethod.BitFit);
        Assert.Equal(5, attachment.TrainableParameters);
        Assert.Contains("no bias", attachment.ToString());
        using (torch.no_grad()) attachment.Parameters().Single().mul_(3).add_(1);
        attachment.Detach();
        foreach (var (key, value) in model.state_dict()) TestTensors.AssertBitEqual(before[key], value, key);
    }
}
