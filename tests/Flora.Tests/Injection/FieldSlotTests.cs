using TorchSharp.Modules;

namespace Flora.Tests.Injection;

/// <summary>
/// A parent whose fields holding a target can hold the adapter (TorchVision's models keep their layers in
/// <c>readonly Module&lt;Tensor, Tensor&gt;</c> fields) gets the adapter in those fields, as PEFT's <c>setattr</c> does:
/// calls reach it directly, without hooks on the base layer, so <c>forward(x)</c> adapts too. A field typed as the
/// sealed layer type keeps the base layer and the hooks.
/// </summary>
public class FieldSlotTests
{
    private sealed class Mixed : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> general = nn.Conv2d(3, 4, 3, padding: 1);
        private readonly Conv2d specific = nn.Conv2d(4, 4, 3, padding: 1);

        public Mixed() : base(nameof(Mixed)) => RegisterComponents();

        public nn.Module<Tensor, Tensor> General => general;

        public Conv2d Specific => specific;

        // forward(x) on the general field: it holds the adapter, so the adapter runs anyway.
        public override Tensor forward(Tensor x) => specific.call(general.forward(x));
    }

    [Fact]
    public void A_field_that_can_hold_the_adapter_holds_it_until_detach_and_its_base_layer_has_no_hooks()
    {
        using var scope = torch.NewDisposeScope();
        var model = new Mixed();
        var baseGeneral = (Conv2d)model.General;
        var attachment = FloraInjector.Attach(model, new FloraConfig { TargetModules = new[] { "general", "specific" }, Defaults = new FloraModelOptions { Rank = 2 } });
        var general = attachment.GetFlora<FloraConv2d>("general");
        Assert.Same(general, model.General);
        Assert.Equal(0, ModuleHooks.Count(baseGeneral));
        Assert.Same(baseGeneral, general.Base);
        Assert.Equal(2, ModuleHooks.Count(model.Specific)); // the sealed-typed field keeps its base layer, reached through hooks

        TestTensors.RandomiseCore(general, seed: 90);
        TestTensors.RandomiseCore(attachment.GetFlora<FloraConv2d>("specific"), seed: 91);
        var x = TestTensors.Randn(new long[] { 2, 3, 6, 6 }, seed: 92);
        var expected = nn.functional.conv2d(nn.functional.conv2d(x, baseGeneral.weight + general.Delta(), baseGeneral.bias, padding: new long[] { 1, 1 }),
            model.Specific.weight + attachment.GetFlora<FloraConv2d>("specific").Delta(), model.Specific.bias, padding: new long[] { 1, 1 });
        TestTensors.AssertClose(expected, model.forward(x), 1e-5, 1e-5, "both adapted");
        Assert.Equal(new[] { "general", "specific" }, model.named_children().Select(c => c.name));

        attachment.Detach();
        Assert.Same(baseGeneral, model.General);
        Assert.Equal(0, ModuleHooks.Count(model.Specific));
        Assert.Equal(new[] { "general", "specific" }, model.named_children().Select(c => c.name));
    }
}
