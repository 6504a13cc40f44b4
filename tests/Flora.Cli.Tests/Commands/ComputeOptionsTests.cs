using System.IO;
using Flora.Cli.Commands;
using Flora.Cli.Experiments;
using Flora.Cli.Training;
using Flora.Comparison;
using TorchSharp.Modules;

namespace Flora.Cli.Tests.Commands;

/// <summary>
/// <c>--dtype</c>, <c>--adapter-dtype</c>, <c>--forward-path</c> and <c>--batchnorm</c> on <c>compare</c> and <c>train</c>,
/// and a ResNet-18 run with frozen BatchNorm in bfloat16 that <c>flora merge --model resnet18</c> then merges.
/// </summary>
public sealed class ComputeOptionsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flora-compute-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("compare", "--dtype", "bfloat16", "--adapter-dtype", "base", "--forward-path", "fused")]
    [InlineData("compare", "--model", "resnet18", "--batchnorm", "frozen")]
    [InlineData("train", "--dtype", "bfloat16", "--forward-path", "factorised", "--batchnorm", "trained")]
    [InlineData("merge", "a.safetensors", "--model", "resnet18")]
    public void The_options_parse(params string[] args) => Assert.Empty(Program.BuildRoot().Parse(args).Errors);

    [Theory]
    [InlineData("Argument 'float16' not recognized. Must be one of", "compare", "--dtype", "float16")]
    [InlineData("Argument 'fastest' not recognized. Must be one of", "compare", "--forward-path", "fastest")]
    [InlineData("Argument 'eval' not recognized. Must be one of", "train", "--batchnorm", "eval")]
    [InlineData("Argument 'float64' not recognized. Must be one of", "train", "--adapter-dtype", "float64")]
    public void Unknown_values_are_parse_errors(string expected, params string[] args) =>
        Assert.Contains(Program.BuildRoot().Parse(args).Errors, e => e.Message.StartsWith(expected, StringComparison.Ordinal));

    [Fact]
    public void The_options_reach_the_settings_and_every_adapter_plan()
    {
        var compute = new ComputeOptions();
        var command = new System.CommandLine.RootCommand();
        foreach (var option in compute.All) command.Options.Add(option);
        var parsed = command.Parse(new[] { "--dtype", "bfloat16", "--adapter-dtype", "base", "--forward-path", "materialised", "--batchnorm", "frozen" });
        var settings = compute.Apply(parsed, new CompareSettings { Model = FineTuneModel.ResNet18Name });

        Assert.Equal(ScalarType.BFloat16, settings.FineTune.Dtype);
        Assert.True(settings.FineTune.FrozenBatchNorm);
        var plans = settings.Plans();
        Assert.All(plans.Where(p => p.Method is not null), p =>
        {
            Assert.Equal(FloraForwardPath.Materialised, p.Defaults.ForwardPath);
            Assert.False(p.Defaults.AutocastAdapterDtype);
            Assert.False(p.Defaults.SaveNormLayers);
        });
        Assert.Contains(settings.Describe(), d => d.Key == "precision" && d.Value.Contains("bfloat16 network, adapter tensors in the network's dtype", StringComparison.Ordinal));
        Assert.Contains(settings.Describe(), d => d.Key == "base model" && d.Value.Contains("eval mode", StringComparison.Ordinal));

        var defaults = compute.Apply(command.Parse(Array.Empty<string>()), new CompareSettings { Model = FineTuneModel.ResNet18Name });
        Assert.Equal(ScalarType.Float32, defaults.FineTune.Dtype);
        Assert.All(defaults.Plans().Where(p => p.Method is not null), p => Assert.True(p.Defaults.SaveNormLayers && p.Defaults.AutocastAdapterDtype));
    }

    [Fact]
    public void A_bfloat16_resnet_run_with_frozen_batchnorm_keeps_the_statistics_trains_float32_adapters_and_merges()
    {
        using var network = new ResNet18Model(32);
        var settings = new TrainSettings { Epochs = 1, BatchSize = 10, Dtype = ScalarType.BFloat16, FrozenBatchNorm = true };
        var plan = MethodPlan.ForResNet18(saveNormLayers: false).Single(p => p.Label == "FLoRA (budget A)");
        Assert.False(plan.Defaults.SaveNormLayers);
        var run = FineTuneRun.Run(plan, 1, network, CompareSmokeTests.Tiny("fashion", 2, 4), CompareSmokeTests.Tiny("fashion test", 1, 5), settings, CPU, _dir,
            adapterFileName: "flora.safetensors");
        Assert.InRange(run.FinalTestAccuracy, 0, 1);

        string path = Path.Combine(_dir, "flora.safetensors");
        var config = AdapterFile.ReadConfig(path);
        Assert.Equal(new[] { "fc" }, config.ModulesToSave.Select(m => m.Name)); // the head only: BatchNorm stayed frozen
        var saved = Safetensors.Load(path).Tensors;
        Assert.All(saved.Where(t => !t.Key.StartsWith("fc.", StringComparison.Ordinal)), t => Assert.Equal(ScalarType.Float32, t.Value.dtype));

        using (var trained = network.Create(CPU))
        {
            trained.to(ScalarType.BFloat16);
            Assert.Equal(run.TrainableParameters, FloraInjector.AttachFromFile(trained, path).TrainableParameters);
        }

        string merged = Path.Combine(_dir, "merged.safetensors");
        int exit = Program.BuildRoot().Parse(new[] { "merge", path, "--model", "resnet18", "--out", merged }).Invoke();
        Assert.Equal(0, exit);
        var state = Safetensors.Load(merged);
        Assert.Contains("layer4.2.conv2.weight", state.Tensors.Keys);
        Assert.Contains("fc.weight", state.Tensors.Keys);
        Assert.DoesNotContain(state.Tensors.Keys, k => k.Contains("factor", StringComparison.Ordinal) || k.EndsWith(".core", StringComparison.Ordinal));
        Assert.Equal("resnet18", state.Metadata["model"]);
        // The merged head is the trained head of the adapter file.
        Assert.Equal(saved["fc.weight"].to(ScalarType.Float32).data<float>().ToArray(), state.Tensors["fc.weight"].to(ScalarType.Float32).data<float>().ToArray());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Frozen_batchnorm_keeps_the_running_statistics_while_training(bool frozen)
    {
        manual_seed(1);
        var bn = nn.BatchNorm2d(4);
        using var model = nn.Sequential(("conv", nn.Conv2d(1, 4, 3)), ("bn", bn), ("pool", nn.AdaptiveAvgPool2d(1)), ("flat", nn.Flatten()), ("head", nn.Linear(4, 10)));
        using var before = bn.running_mean!.clone();
        var settings = new TrainSettings { Epochs = 1, BatchSize = 5, FrozenBatchNorm = frozen };
        Trainer.Train(model, model.parameters().ToArray(), CompareSmokeTests.Tiny("fashion", 2, 4), CompareSmokeTests.Tiny("fashion test", 1, 5),
            global::Flora.Data.Normalisation.FashionMnist, settings, CPU);
        Assert.Equal(frozen, bn.running_mean!.eq(before).all().item<bool>());
    }
}
