using System.Diagnostics;
using System.IO;
using Flora.Cli.Experiments;
using Flora.Cli.Training;
using Flora.Comparison;
using Flora.Reports;
using Spectre.Console.Testing;
using Xunit.Abstractions;

namespace Flora.Cli.Tests.Commands;

/// <summary>
/// <c>flora compare --model resnet18</c> end to end on the CPU with tiny synthetic data at 32×32: the learning-rate
/// choice on a validation split, then the seed, every report. The ONNX weights are read once for the whole test.
/// </summary>
public sealed class ResNet18SmokeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flora-resnet-").FullName;
    private readonly ITestOutputHelper _output;

    /// <summary>Writes the timing and the learning-rate table to the test's output.</summary>
    public ResNet18SmokeTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void The_input_is_three_channels_at_the_resolution()
    {
        var data = CompareSmokeTests.Tiny("fashion", 1, 4);
        using var scope = NewDisposeScope();
        var (images, labels) = new ResNetInput(32).Batch(data, new long[] { 0, 1, 2 }, CPU);
        Assert.Equal(new long[] { 3, 3, 32, 32 }, images.shape);
        Assert.Equal(new long[] { 3 }, labels.shape);
        // The gray value is repeated: after the BGR flip and the mean image, the channels differ by the means only. Taking
        // away what the preprocessing makes of a black image (minus the means) leaves three equal channels in every image,
        // and the random images still differ.
        using var black = Flora.Pretrained.PretrainedModels.ResNet18Preprocess(zeros(1, 3, 32, 32));
        using var gray = images - black;
        Assert.True(gray[.., 0].allclose(gray[.., 1], rtol: 0, atol: 1e-3) && gray[.., 0].allclose(gray[.., 2], rtol: 0, atol: 1e-3));
        Assert.False(black[0, 0].allclose(black[0, 2], rtol: 0, atol: 1e-3)); // the means themselves differ per channel
        Assert.False(images[0].allclose(images[1]));
        Assert.Throws<ArgumentException>(() => new ResNetInput(48));
    }

    [Fact]
    [Trait("Speed", "Slow")] // the whole ImageNet ResNet-18 trains on the CPU: `dotnet test --filter Speed!=Slow` leaves it out
    public void Flora_and_lora_choose_a_rate_on_the_validation_split_and_write_the_reports()
    {
        var clock = Stopwatch.StartNew();
        var settings = new CompareSettings
        {
            CacheDirectory = Path.Combine(_dir, "cache"),
            OutputDirectory = Path.Combine(_dir, "out"),
            Model = FineTuneModel.ResNet18Name,
            Resolution = 32,
            Seeds = 1,
            FineTune = new TrainSettings { Epochs = 1, BatchSize = 10 },
            LearningRateGrid = new[] { 1e-3, 1e-2 },
            SearchPerClass = 2,
            SearchEpochs = 1,
        };
        var plans = MethodPlan.ForResNet18().Where(p => p.Label is "FLoRA (budget A)" or "LoRA (budget A)").ToList();
        Assert.Equal(2, plans.Count);
        Assert.All(plans, p => Assert.True(p.Defaults.SaveNormLayers));
        var console = new TestConsole();
        console.Profile.Width = 200;
        using var model = new ResNet18Model(settings.Resolution);

        var runs = CompareRunner.Run(settings, plans, console, CompareSmokeTests.Tiny("fashion", 2, 4), CompareSmokeTests.Tiny("fashion test", 1, 5), model, CPU);

        Assert.Equal(2, runs.Count);
        Assert.All(runs, r => Assert.InRange(r.FinalTestAccuracy, 0, 1));
        // The adapters, every BatchNorm (weight and bias) and the new head train; far fewer than the 11.2M of the network.
        Assert.All(runs, r => Assert.InRange(r.TrainableParameters, 9_600 + 5_130, 1_000_000));
        string output = settings.OutputDirectory;
        foreach (var file in new[] { "results.md", "results.csv", "learning_rates.csv", "budgets.txt", "accuracy_vs_parameters.png" })
            Assert.True(File.Exists(Path.Combine(output, file)), file);
        Assert.Equal(2, CsvResultsReader.Read(Path.Combine(output, "results.csv")).Count);
        Assert.Contains(settings.Describe(), d => d.Key == "learning rates" && d.Value.Contains("20 training images", StringComparison.Ordinal) && d.Value.Contains("1 epochs", StringComparison.Ordinal));
        var rates = File.ReadAllLines(Path.Combine(output, "learning_rates.csv"));
        Assert.Equal(1 + 2 * 2, rates.Length);
        Assert.Equal(2, rates.Count(l => l.Contains(",true,", StringComparison.Ordinal)));
        Assert.Contains("## Learning rates", File.ReadAllText(Path.Combine(output, "results.md")));
        Assert.Contains("ResNet-18", File.ReadAllText(Path.Combine(output, "results.md")));
        Assert.Contains("layer4.2.conv2", File.ReadAllText(Path.Combine(output, "budgets.txt")));
        // A grid of two rates: the best is always at an edge, and each method says so.
        Assert.Equal(2, console.Output.Split("warning:").Length - 1);
        Assert.Equal(2, Directory.GetFiles(Path.Combine(output, "adapters"), "*.safetensors").Length);

        // What `flora eval --model resnet18` does: a fresh network (untrained head) plus the file is the fine-tuned one.
        var flora = runs.Single(r => r.Method == "FLoRA (budget A)");
        using (var fresh = model.Create(CPU))
        {
            var attachment = FloraInjector.AttachFromFile(fresh, Path.Combine(output, "adapters", "flora-budget-a-seed1.safetensors"));
            Assert.Contains(attachment.ModulesToSave, m => m.Path == "fc");
            Assert.Equal(flora.FinalTestAccuracy, Trainer.Evaluate(fresh, CompareSmokeTests.Tiny("fashion test", 1, 5), model.Input, 64, CPU));
        }
        _output.WriteLine($"ResNet-18 smoke test: {clock.Elapsed.TotalSeconds:F1} s");
        _output.WriteLine(File.ReadAllText(Path.Combine(output, "learning_rates.csv")));
        _output.WriteLine(console.Output);
    }
}
