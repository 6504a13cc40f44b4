using System.IO;
using Flora.Cli.Commands;
using Flora.Cli.Experiments;

namespace Flora.Cli.Tests.Commands;

/// <summary><c>flora train --lora-rank --lora-alpha --save-modules</c> and <c>flora inspect</c> on the file it writes.</summary>
[Collection(ConsoleOutputCollection.Name)]
public sealed class TransferOptionsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flora-transfer-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("train", "--method", "lora", "--lora-rank", "16", "--lora-alpha", "32", "--save-modules", "headNorm", "stemNorm")]
    [InlineData("train", "--save-modules", @"block\dNorm")]
    public void The_transfer_options_parse(params string[] args) => Assert.Empty(Program.BuildRoot().Parse(args).Errors);

    [Theory]
    [InlineData("--lora-rank must be at least 1.", "train", "--lora-rank", "0")]
    [InlineData("--lora-alpha must be a positive number.", "train", "--lora-alpha", "-1")]
    public void Bad_transfer_options_are_parse_errors(string expected, params string[] args) =>
        Assert.Contains(Program.BuildRoot().Parse(args).Errors, e => e.Message == expected);

    [Fact]
    public void A_chosen_rank_and_saved_norms_train_save_and_show_in_inspect()
    {
        var settings = CompareSmokeTests.TinySettings(_dir);
        var (basePath, _) = BaseModelStore.Ensure(settings.CacheDirectory, settings.Pretrain, CompareSmokeTests.Tiny("mnist", 2, 1), CompareSmokeTests.Tiny("mnist test", 1, 2), TorchSharp.torch.CPU, _ => { });
        var defaults = new FloraModelOptions { Rank = 4, R3 = 1, Scale = 4, LoraRank = 2, LoraAlpha = 8 };
        var plan = TrainCommand.PlanFor("lora", defaults) with { ModulesToSave = new[] { "headNorm", @"block\dNorm" } };
        var run = FineTuneRun.Run(plan, 1, basePath, settings.Pretrain.Width, CompareSmokeTests.Tiny("fashion", 2, 4), CompareSmokeTests.Tiny("fashion test", 1, 5),
            settings.FineTune, TorchSharp.torch.CPU, _dir, adapterFileName: "lora.safetensors");

        string path = Path.Combine(_dir, "lora.safetensors");
        var config = AdapterFile.ReadConfig(path);
        Assert.Equal(new[] { "block1Norm", "block2Norm", "block3Norm", "block4Norm", "headNorm" }, config.ModulesToSave.Select(m => m.Name).OrderBy(n => n));
        Assert.All(config.Targets, t => Assert.Equal(new[] { 2 }, t.Ranks));
        Assert.All(config.Targets, t => Assert.Equal(8.0, t.LoraAlpha));
        using (var model = BaseModelStore.Load(basePath, settings.Pretrain.Width, TorchSharp.torch.CPU))
        {
            var attachment = FloraInjector.AttachFromFile(model, path);
            Assert.Equal(run.TrainableParameters, attachment.TrainableParameters);
        }

        var console = new Spectre.Console.Testing.TestConsole();
        console.Profile.Width = 200;
        AdapterCommands.Inspect(console, path);
        string text = console.Output;
        Assert.Contains("Modules saved whole (5)", text);
        Assert.Contains("headNorm", text);
        Assert.Contains("LayerNorm", text);
        Assert.Contains("headNorm.weight", text);
    }
}
