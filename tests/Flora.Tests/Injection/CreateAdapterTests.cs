using TorchSharp.Modules;

namespace Flora.Tests.Injection;

/// <summary>
/// <see cref="FloraLayerTypes.CreateAdapter"/>: one layer's adapter from the dispatch table, the same adapter type,
/// ranks and count that attaching to a model gives it.
/// </summary>
public class CreateAdapterTests
{
    public static TheoryData<string, FloraMethod, Type> Cases() => new()
    {
        { "linear", FloraMethod.Flora, typeof(FloraLinear) }, { "linear", FloraMethod.Lora, typeof(LoraLinear) },
        { "linear", FloraMethod.Dora, typeof(DoraLinear) }, { "linear", FloraMethod.BitFit, typeof(BitFitLayer) },
        { "conv1d", FloraMethod.Flora, typeof(FloraConv1d) }, { "conv2d", FloraMethod.Lora, typeof(LoraConv2d) },
        { "conv3d", FloraMethod.Dora, typeof(DoraConv3d) }, { "conv2d", FloraMethod.Flora, typeof(FloraConv2d) },
        { "linear", FloraMethod.AdaLora, typeof(AdaLoraLayer) }, { "conv3d", FloraMethod.AdaLora, typeof(AdaLoraLayer) },
    };

    private static nn.Module<Tensor, Tensor> Layer(string kind) => kind switch
    {
        "linear" => nn.Linear(12, 10),
        "conv1d" => nn.Conv1d(6, 8, 3),
        "conv2d" => nn.Conv2d(6, 8, 3, padding: 1),
        _ => nn.Conv3d(4, 6, 3),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void It_gives_the_adapter_attaching_gives(string kind, FloraMethod method, Type expected)
    {
        using var scope = NewDisposeScope();
        var options = new FloraModelOptions { Rank = 3, R3 = 2 };
        manual_seed(5);
        var alone = FloraLayerTypes.CreateAdapter(method, "layer", Layer(kind), options);
        Assert.IsType(expected, alone);

        manual_seed(5);
        var model = nn.Sequential(("layer", Layer(kind)));
        var attachment = FloraInjector.Attach(model, new FloraConfig { TargetModules = new[] { "layer" }, Defaults = options }, method);
        var attached = attachment.Adapters.Single();
        Assert.IsType(expected, attached);
        Assert.Equal(attached.TrainableParameters, alone.TrainableParameters);
        Assert.Equal(attached.Spec.Ranks, alone.Spec.Ranks);
        Assert.Equal(attached.Spec.Scale, alone.Spec.Scale);
    }

    [Fact]
    public void A_layer_of_no_registered_type_is_a_clear_error()
    {
        var error = Assert.Throws<ArgumentException>(() => FloraLayerTypes.CreateAdapter(FloraMethod.Flora, "norm", nn.LayerNorm(8)));
        Assert.Contains("'norm'", error.Message);
        Assert.Contains("Conv2d", error.Message);
    }
}
