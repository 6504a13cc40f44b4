using System.IO;
using Flora.Cli.Commands;
using Flora.Cli.Examples;
using Flora.Cli.Experiments;
using Spectre.Console.Testing;

namespace Flora.Cli.Tests.Examples;

/// <summary>
/// Both examples end to end at a tiny size on learnable in-memory images: the losses fall, FLoRA's count is the
/// expected one, the saved adapters reload bit-exactly onto the saved base, and the report prints the figures.
/// </summary>
public sealed class ExampleRunnerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flora-example-").FullName;

    private static readonly ExampleSettings Tiny = new() { TrainPerClass = 8, TestPerClass = 2, Epochs = 3, BatchSize = 20 };

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static ExampleData TinyData() => new(
        PatternImages.Create("source train", Tiny.TrainPerClass, 1, transposed: false), PatternImages.Create("source test", Tiny.TestPerClass, 2, transposed: false),
        PatternImages.Create("target train", Tiny.TrainPerClass, 3, transposed: true), PatternImages.Create("target test", Tiny.TestPerClass, 4, transposed: true));

    [Fact]
    public void The_unet_example_trains_counts_the_generated_constant_and_reloads_bit_exactly()
    {
        var (report, data) = RunChecked(new DenoisingExample());
        Assert.Equal(DenoisingUNet.FloraTrainableParameters, report.Runs.Single(r => r.Method == FloraMethod.Flora).TrainableParameters);
    }

    [Fact]
    public void The_attention_example_trains_and_reloads_bit_exactly()
    {
        var (report, _) = RunChecked(new AttentionExample());
        // Rank 4 on every mode: Π r + Σ I·r per adapter. tokens [16, 32], positions [49, 32], the attention's in_proj
        // [96, 32] and out_proj [32, 32], mix [32, 32], head [10, 32] (the head's out mode clamps nothing: 10 ≥ 4).
        static long Matrix(long rows, long columns) => 4 * 4 + rows * 4 + columns * 4;
        long expected = Matrix(16, 32) + Matrix(49, 32) + Matrix(96, 32) + Matrix(32, 32) + Matrix(32, 32) + Matrix(10, 32);
        Assert.Equal(expected, report.Runs.Single(r => r.Method == FloraMethod.Flora).TrainableParameters);
    }

    /// <summary>Runs <paramref name="task"/> tiny and checks what both examples promise.</summary>
    private (ExampleReport Report, ExampleData Data) RunChecked(ExampleTask task)
    {
        var data = TinyData();
        var report = ExampleRunner.Run(task, data, Tiny, _dir, new RunProgress(new TestConsole()));

        Assert.True(report.PretrainLossPerEpoch[^1] < report.PretrainLossPerEpoch[0], $"pretraining loss {string.Join(" → ", report.PretrainLossPerEpoch)}");
        Assert.Equal(ExampleRunner.Methods, report.Runs.Select(r => r.Method));
        foreach (var run in report.Runs)
        {
            Assert.True(run.TrainLossPerEpoch[^1] < run.TrainLossPerEpoch[0], $"{run.Method} loss {string.Join(" → ", run.TrainLossPerEpoch)}");
            Assert.InRange(run.TrainableParameters, 1, report.BaseParameters / 2);
            AssertReloadsBitExactly(task, data, report, run);
        }

        var console = new TestConsole();
        console.Profile.Width = 200;
        ExampleCommand.Print(console, task, data, report);
        foreach (var run in report.Runs)
        {
            Assert.Contains(task.Format(run.Metric), console.Output);
            Assert.Contains(run.TrainableParameters.ToString("N0"), console.Output);
            Assert.Contains(Path.GetFullPath(run.AdapterPath), console.Output);
        }
        Assert.Contains(task.Format(report.TargetMetricBefore), console.Output);
        return (report, data);
    }

    /// <summary>
    /// A fresh network with the saved base and the saved adapter computes the reported metric to the last bit, and
    /// saving its adapter again writes the same tensors bit for bit.
    /// </summary>
    private void AssertReloadsBitExactly(ExampleTask task, ExampleData data, ExampleReport report, ExampleRun run)
    {
        using var fresh = task.CreateNetwork();
        fresh.load(report.BasePath);
        var attachment = FloraInjector.AttachFromFile(fresh, run.AdapterPath);
        Assert.Equal(run.Method, attachment.Method);
        Assert.Equal(run.Metric, ExampleRunner.Measure(task, fresh, data.TargetTest, Tiny));
        string again = Path.Combine(_dir, $"again-{run.Method}.flora.safetensors");
        attachment.Save(again);
        var saved = Safetensors.Load(run.AdapterPath).Tensors;
        var resaved = Safetensors.Load(again).Tensors;
        Assert.Equal(saved.Keys.Order(), resaved.Keys.Order());
        Assert.All(saved, tensor =>
        {
            var other = resaved[tensor.Key];
            Assert.Equal(tensor.Value.dtype, other.dtype);
            Assert.Equal(tensor.Value.shape, other.shape);
            Assert.True(tensor.Value.eq(other).all().item<bool>(), tensor.Key);
        });
        attachment.Detach();
    }
}
