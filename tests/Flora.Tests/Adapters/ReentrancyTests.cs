using TorchSharp.Modules;

namespace Flora.Tests.Adapters;

/// <summary>The fused hand-off from the pre-hook to the post-hook carries each call's own state: repeated and nested calls are independent.</summary>
public class ReentrancyTests
{
    /// <summary>Calls its hook-bound (readonly, typed Conv2d) member twice in one forward.</summary>
    private sealed class Twice : nn.Module<Tensor, Tensor>
    {
        public readonly Conv2d conv = nn.Conv2d(4, 4, 3, padding: 1);

        public Twice() : base(nameof(Twice)) => RegisterComponents();

        public override Tensor forward(Tensor input) => conv.call(conv.call(input));
    }

    private static (Twice Model, FloraLayer Adapter) Attach(FloraForwardPath path)
    {
        var model = new Twice();
        var attachment = FloraInjector.Attach(model, new FloraConfig { TargetModules = new[] { "conv" }, Defaults = new FloraModelOptions { Rank = 2, R3 = 2, ForwardPath = path } });
        var adapter = (FloraLayer)attachment.Adapters.Single();
        using (no_grad()) adapter.Core.copy_(TestTensors.Randn(adapter.Core.shape, seed: 9));
        return (model, adapter);
    }

    private static Tensor Expected(Twice model, FloraLayer adapter, Tensor x)
    {
        using var weight = model.conv.weight!.Plus(adapter.Delta());
        using var once = nn.functional.conv2d(x, weight, model.conv.bias, padding: new long[] { 1, 1 });
        return nn.functional.conv2d(once, weight, model.conv.bias, padding: new long[] { 1, 1 });
    }

    [Theory]
    [InlineData(FloraForwardPath.Fused)]
    [InlineData(FloraForwardPath.Factorised)]
    public void A_layer_called_twice_in_one_forward_adapts_both_calls(FloraForwardPath path)
    {
        var (model, adapter) = Attach(path);
        using var x = TestTensors.Randn(new long[] { 2, 4, 5, 5 }, seed: 1);
        using var expected = Expected(model, adapter, x);
        TestTensors.AssertClose(expected, model.call(x), 1e-5, 1e-5, $"twice, {path}");
        Assert.Equal(path, adapter.LastPath);
        model.Dispose();
    }

    [Fact]
    public void A_call_nested_inside_another_call_of_the_same_layer_keeps_both_apart()
    {
        var (model, adapter) = Attach(FloraForwardPath.Fused);
        using var x = TestTensors.Randn(new long[] { 2, 4, 5, 5 }, seed: 1);
        using var other = TestTensors.Randn(new long[] { 3, 4, 5, 5 }, seed: 2);
        Tensor? inner = null;
        bool inside = false;
        // A hook of the user's, after the adapter's pre-hook: it calls the same layer while the outer call is in flight.
        var hook = model.conv.register_forward_pre_hook((_, input) =>
        {
            if (inside) return null!;
            inside = true;
            inner = model.conv.call(other);
            inside = false;
            return null!;
        });
        using var outer = model.conv.call(x);
        hook.remove();
        using var weight = model.conv.weight!.Plus(adapter.Delta());
        TestTensors.AssertClose(nn.functional.conv2d(x, weight, model.conv.bias, padding: new long[] { 1, 1 }), outer, 1e-5, 1e-5, "outer call");
        TestTensors.AssertClose(nn.functional.conv2d(other, weight, model.conv.bias, padding: new long[] { 1, 1 }), inner!, 1e-5, 1e-5, "nested call");
        model.Dispose();
    }
}
