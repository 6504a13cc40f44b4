using TorchSharp.Modules;

namespace Flora.Tests.Injection;

/// <summary>A transposed convolution named by TargetModules is adapted like any other layer (ConvTranspose1d/2d/3d are built-in types).</summary>
public class TransposedConvolutionTests
{
    private sealed class Decoder : nn.Module<Tensor, Tensor>
    {
        private readonly Conv2d conv = nn.Conv2d(4, 8, 3, padding: 1);
        private readonly ConvTranspose2d up = nn.ConvTranspose2d(8, 4, 2, stride: 2);

        public Decoder() : base(nameof(Decoder)) => RegisterComponents();

        public override Tensor forward(Tensor x) => up.call(conv.call(x));
    }

    [Fact]
    public void A_transposed_convolution_matched_by_a_pattern_gets_its_typed_adapter()
    {
        using var model = new Decoder();
        var attachment = FloraInjector.Attach(model, new FloraConfig { TargetModules = new[] { "conv", "up" } });
        Assert.Equal(new[] { "conv", "up" }, attachment.Adapters.Select(a => a.Name));
        var up = attachment.GetFlora<FloraConvTranspose2d>("up");
        Assert.Equal(new long[] { 8, 4, 2, 2 }, up.Config.WeightShape);
        Assert.Equal(new long[] { 8, 4, 2, 2 }, up.Delta().shape);
        attachment.Detach();
    }

    [Fact]
    public void Excluding_it_attaches_the_others()
    {
        using var model = new Decoder();
        var attachment = FloraInjector.Attach(model, new FloraConfig { TargetModules = new[] { "conv", "up" }, ExcludeModules = new[] { "up" } });
        Assert.Equal(new[] { "conv" }, attachment.Adapters.Select(a => a.Name));
        attachment.Detach();
    }
}
