using System.IO;
using Flora.Cli.Experiments;
using Flora.Comparison;
using Flora.Data;
using Flora.Reports;
using Spectre.Console;
using Spectre.Console.Testing;

namespace Flora.Cli.Tests.Commands;

/// <summary>
/// The main job end to end on tiny in-memory data: pretraining and caching the base, every method of the comparison
/// through the generated members for two steps, and every report file.
/// </summary>
public sealed class CompareSmokeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flora-compare-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Random 28×28 images, <paramref name="perClass"/> of each class.</summary>
    internal static ImageDataset Tiny(string name, int perClass, int seed)
    {
        var random = new Random(seed);
        int count = perClass * 10;
        var pixels = new byte[count * 28 * 28];
        random.NextBytes(pixels);
        var labels = Enumerable.Range(0, count).Select(i => (byte)(i % 10)).ToArray();
        return new ImageDataset(name, pixels, labels, Normalisation.FashionMnist);
    }

    internal static CompareSettings TinySettings(string dir) => new()
    {
        CacheDirectory = Path.Combine(dir, "cache"),
        OutputDirectory = Path.Combine(dir, "out"),
        Seeds = 2,
        Pretrain = new PretrainSettings { Width = 4, TrainPerClass = 2, Train = new TrainSettings { Epochs = 1, BatchSize = 10, Seed = 3 } },
        TrainPerClass = 2,
        TestPerClass = 1,
        FineTune = new TrainSettings { Epochs = 1, BatchSize = 10 },
    };

    [Fact]
    public void Every_method_runs_and_every_report_is_written()
    {
        var settings = TinySettings(_dir);
        var console = new TestConsole();
        var (basePath, accuracy) = BaseModelStore.Ensure(settings.CacheDirectory, settings.Pretrain, Tiny("mnist", 2, 1), Tiny("mnist test", 1, 2), TorchSharp.torch.CPU, _ => { });
        Assert.NotNull(accuracy);
        Assert.Equal(BaseModelStore.PathFor(settings.CacheDirectory, settings.Pretrain), basePath);
        var (_, cachedAccuracy) = BaseModelStore.Ensure(settings.CacheDirectory, settings.Pretrain, Tiny("mnist", 2, 1), Tiny("mnist test", 1, 2), TorchSharp.torch.CPU, _ => { });
        Assert.Null(cachedAccuracy); // reused, not trained again

        var data = new ExperimentData(Tiny("fashion", 2, 4), Tiny("fashion test", 1, 5), basePath);
        var runs = CompareRunner.Run(settings, MethodPlan.Default(), console, data, TorchSharp.torch.CPU);

        Assert.Equal(MethodPlan.Default().Count * settings.Seeds, runs.Count);
        Assert.All(runs, r => Assert.InRange(r.FinalTestAccuracy, 0, 1));
        var byMethod = runs.GroupBy(r => r.Method).ToDictionary(g => g.Key, g => g.First());
        Assert.Equal(byMethod["Full fine-tuning"].TotalParameters, byMethod["Full fine-tuning"].TrainableParameters);
        Assert.True(byMethod["BitFit"].TrainableParameters < byMethod["FLoRA (budget A)"].TrainableParameters);
        foreach (var budget in new[] { "A", "B" })
        {
            long floraCount = byMethod[$"FLoRA (budget {budget})"].TrainableParameters, loraCount = byMethod[$"LoRA (budget {budget})"].TrainableParameters;
            Assert.InRange((double)loraCount / floraCount, 0.7, 1.3); // matched budgets
        }

        string output = settings.OutputDirectory;
        foreach (var file in new[] { "results.md", "results.csv", "accuracy_vs_parameters.png", "accuracy_per_epoch.png", "budgets.txt" })
            Assert.True(File.Exists(Path.Combine(output, file)), file);
        Assert.Equal(MethodPlan.Default().Count(p => p.Method is not null) * settings.Seeds, Directory.GetFiles(Path.Combine(output, "adapters"), "*.safetensors").Length);
        Assert.Contains("FLoRA (budget B)", File.ReadAllText(Path.Combine(output, "results.md")));
        Assert.Contains("FLoRA (budget A) − LoRA (budget A)", console.Output.Replace("\n", " "));

        // results.csv reads back to the same runs, so `flora report` rebuilds the same summary.
        var reread = CsvResultsReader.Read(Path.Combine(output, "results.csv"));
        Assert.Equal(runs.Select(r => (r.Method, r.Seed, r.TrainableParameters, r.FinalTestAccuracy)), reread.Select(r => (r.Method, r.Seed, r.TrainableParameters, r.FinalTestAccuracy)));
        Assert.Equal(runs.Select(r => r.EpochTestAccuracy.Count), reread.Select(r => r.EpochTestAccuracy.Count));

        // The saved adapters load back onto the base and reproduce the run's accuracy (AdaLoRA with its allocated ranks).
        foreach (var method in new[] { "FLoRA (budget A)", "HAdapter (budget A)", "PAdapter (budget B)", "AdaLoRA (budget A)" })
        {
            var run = runs.First(r => r.Method == method && r.Seed == 1);
            using var model = BaseModelStore.Load(basePath, settings.Pretrain.Width, TorchSharp.torch.CPU);
            FloraInjector.AttachFromFile(model, Path.Combine(output, "adapters", $"{FineTuneRun.Slug(method)}-seed1.safetensors"));
            Assert.Equal(run.FinalTestAccuracy, Training.Trainer.Evaluate(model, data.Test, Normalisation.FashionMnist, 64, TorchSharp.torch.CPU));
        }
    }
}
