using System.IO;
using Flora.Cli.Commands;
using Flora.Comparison;

namespace Flora.Cli.Tests.Commands;

/// <summary><c>flora export-peft</c> and <c>flora import-peft</c> on the main job's model (TinyConvNeXt's layer names).</summary>
public sealed class PeftCommandsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flora-peft-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static TinyConvNeXt Base()
    {
        var model = new TinyConvNeXt(width: 8);
        using var generator = new Generator(11);
        using (no_grad())
            foreach (var (_, parameter) in model.named_parameters())
                parameter.copy_(torch.randn(parameter.shape, generator: generator).mul(0.2));
        model.eval();
        return model;
    }

    [Fact]
    public void An_adapter_exports_to_PEFT_and_imports_back_with_the_same_outputs()
    {
        using var trained = Base();
        var attachment = FloraInjector.Attach(trained, new FloraConfig
        {
            TargetModules = new[] { @"block\dPw1", "stem", "head" },
            ModulesToSave = new[] { "headNorm" },
            Defaults = new FloraModelOptions { LoraRank = 2, LoraAlpha = 4 },
        }, FloraMethod.Lora);
        using (no_grad())
            foreach (var adapter in attachment.Adapters.Cast<LoraLayer>())
                adapter.LoraB.copy_(torch.randn(adapter.LoraB.shape, generator: new Generator(5)).mul(0.1));
        using var x = torch.randn(new long[] { 3, 1, 28, 28 }, generator: new Generator(2));
        using var expected = trained.forward(x);
        string adapterFile = Path.Combine(_dir, "lora.safetensors");
        attachment.Save(adapterFile);

        using var exporting = Base();
        string peftDir = Path.Combine(_dir, "peft");
        PeftCommands.ExportPeft(exporting, adapterFile, peftDir);
        Assert.True(File.Exists(Path.Combine(peftDir, "adapter_config.json")));
        Assert.DoesNotContain(exporting.modules(), m => m is IFloraAdapter);

        using var importing = Base();
        string imported = Path.Combine(_dir, "imported.safetensors");
        PeftCommands.ImportPeft(importing, peftDir, imported);
        using var fresh = Base();
        FloraInjector.AttachFromFile(fresh, imported);
        using var output = fresh.forward(x);
        using var error = (output - expected).abs().max();
        using var scale = expected.abs().max();
        Assert.True(error.item<float>() <= 1e-6 * scale.item<float>());
    }

    [Fact]
    public void A_FLoRA_adapter_on_the_depthwise_convolutions_is_refused_clearly()
    {
        using var trained = Base();
        var attachment = FloraInjector.Attach(trained, new FloraConfig { TargetModules = new[] { @"block1(Dw|Pw1)" }, Defaults = new FloraModelOptions { Rank = 2 } });
        string adapterFile = Path.Combine(_dir, "flora.safetensors");
        attachment.Save(adapterFile);
        using var model = Base();
        var error = Assert.Throws<InvalidOperationException>(() => PeftCommands.ExportPeft(model, adapterFile, Path.Combine(_dir, "peft")));
        Assert.Contains("'block1Dw' is a grouped convolution (groups 8)", error.Message);
        Assert.False(Directory.Exists(Path.Combine(_dir, "peft")));
        Assert.DoesNotContain(model.modules(), m => m is IFloraAdapter);
    }
}
