using TorchSharp.Modules;

namespace Flora.Tests.Injection;

/// <summary>A transposed convolution named by TargetModules is refused by name, as the analyzer refuses it (FLORA006), never skipped silently.</summary>
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
    public void A_transposed_convolution_matched_by_a_pattern_is_an_error_naming_it()
    {
        using var model = new Decoder();
        var before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        var error = Assert.Throws<ArgumentException>(() => FloraInjector.Attach(model, new FloraConfig { TargetModules = new[] { "conv", "up" } }));
        Assert.Contains("'up' is a ConvTranspose2d", error.Message);
        Assert.Contains("ExcludeModules", error.Message);
        Assert.All(model.parameters(), p => Assert.True(p.requires_grad));
        foreach (var (key, value) in model.state_dict()) TestTensors.AssertBitEqual(before[key], value, key);
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
