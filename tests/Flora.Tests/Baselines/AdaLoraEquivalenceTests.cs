using Flora.Tests.Adapters;
using TorchSharp.Modules;
using Case = Flora.Tests.Adapters.ConvolutionEquivalenceTests.Case;

namespace Flora.Tests.Baselines;

/// <summary>
/// AdaLoRA against an independent formulation in float64: the base layer with its weight set to
/// <c>W0 + reshape(P·(Q⊙Λ))·α/(r + 1e-5)</c>, ΔW summed explicitly over the triplets here, run as a float64 copy of the
/// base layer (convolutions) or as an explicit matmul (Linear). The grid is the FLoRA convolution grid (stride, padding
/// 0/1/same, padding modes, dilation, groups 1/2/depthwise, non-square kernels, 1d/2d/3d, bias on and off, float32 and
/// bfloat16) on every forward path; then initialisation, sizes, configuration resolution.
/// </summary>
[Collection(GlobalSeedCollection.Name)]
public class AdaLoraEquivalenceTests
{
    private static readonly AdaLoraLayerConfig Config = new() { Rank = 3, TargetRank = 2, Alpha = 5 };

    public static TheoryData<Case, FloraForwardPath, ScalarType> Grid() => ConvolutionEquivalenceTests.Grid();

    private static AdaLoraLayer Create(nn.Module<Tensor, Tensor> layer, AdaLoraLayerConfig config) => layer switch
    {
        Linear linear => new AdaLoraLayer("layer", linear, LayerGeometry.Linear(() => linear.weight!, () => linear.bias), config),
        Convolution conv => new AdaLoraLayer("layer", conv, LayerGeometry.Convolution(conv), config),
        _ => throw new ArgumentException(layer.GetType().Name),
    };

    /// <summary>Bounds for an output in <paramref name="dtype"/> against the float64 formula.</summary>
    private static (double Rtol, double Atol) Tolerance(Tensor expected, ScalarType dtype) =>
        dtype == ScalarType.BFloat16 ? BaselineTensors.Tolerance(expected, dtype) : (1e-4, 1e-5);

    [Theory]
    [MemberData(nameof(Grid))]
    public void Conv_forward_equals_the_float64_convolution_with_W0_plus_scaled_P_Q_Lambda(Case c, FloraForwardPath path, ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        var conv = ConvolutionEquivalenceTests.CreateConv(c, dtype);
        var adapter = Create(conv, Config);
        adapter.ForwardPath = path;
        BaselineTensors.Randomise(adapter, seed: 3);
        Assert.Equal(new long[] { 3, conv.weight.shape.Skip(1).Aggregate(1L, (a, b) => a * b) }, adapter.LoraA.shape); // flattened, per group

        long spatial = c.Dims == 3 ? 7 : 11;
        var x = TestTensors.Randn(new long[] { 2, c.In }.Concat(Enumerable.Repeat(spatial, c.Dims)).ToArray(), seed: 4, dtype);
        var actual = adapter.forward(x);
        Assert.Equal(path, adapter.LastPath);

        // The same convolution in float64 with W0 + ΔW.
        var reference = ConvolutionEquivalenceTests.CreateConv(c, ScalarType.Float64);
        using (torch.no_grad())
        {
            reference.weight.copy_(conv.weight.to(ScalarType.Float64) + BaselineTensors.ExplicitAdaLoraDelta(adapter, 5, conv.weight.shape));
            if (c.Bias) reference.bias!.copy_(conv.bias!.to(ScalarType.Float64));
        }
        var expected = reference.forward(x.to(ScalarType.Float64));
        var (rtol, atol) = Tolerance(expected, dtype);
        TestTensors.AssertClose(expected, actual, rtol, atol, $"{c.Name} {path} {dtype}");
    }

    public static TheoryData<FloraForwardPath, ScalarType, bool> LinearGrid()
    {
        var data = new TheoryData<FloraForwardPath, ScalarType, bool>();
        foreach (var path in new[] { FloraForwardPath.Factorised, FloraForwardPath.Materialised, FloraForwardPath.Fused })
            foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
                foreach (bool bias in new[] { true, false })
                    data.Add(path, dtype, bias);
        return data;
    }

    [Theory]
    [MemberData(nameof(LinearGrid))]
    public void Linear_forward_equals_the_explicit_matmul_with_W0_plus_scaled_P_Q_Lambda(FloraForwardPath path, ScalarType dtype, bool bias)
    {
        using var scope = torch.NewDisposeScope();
        var linear = nn.Linear(12, 7, hasBias: bias);
        linear.to(dtype);
        var adapter = Create(linear, new AdaLoraLayerConfig { Rank = 4, TargetRank = 2, Alpha = 6, ForwardPath = path });
        BaselineTensors.Randomise(adapter, seed: 7);
        Assert.Equal(new long[] { 4, 12 }, adapter.LoraA.shape);
        Assert.Equal(new long[] { 4, 1 }, adapter.LoraE.shape);
        Assert.Equal(new long[] { 7, 4 }, adapter.LoraB.shape);

        var x = TestTensors.Randn(new long[] { 2, 4, 12 }, seed: 8, dtype); // extra batch axes
        var actual = adapter.forward(x);
        Assert.Equal(path, adapter.LastPath);

        var weight = linear.weight!.to(ScalarType.Float64) + BaselineTensors.ExplicitAdaLoraDelta(adapter, 6, linear.weight.shape);
        var expected = x.to(ScalarType.Float64).matmul(weight.t());
        if (bias) expected = expected + linear.bias!.to(ScalarType.Float64);
        var (rtol, atol) = Tolerance(expected, dtype);
        TestTensors.AssertClose(expected, actual, rtol, atol, $"linear {path} {dtype} bias {bias}");
    }

    [Fact]
    public void Delta_is_the_scaled_triplet_sum_in_the_grouped_weight_shape()
    {
        using var scope = torch.NewDisposeScope();
        var conv = nn.Conv2d(8, 12, (3, 5), groups: 4);
        var adapter = Create(conv, Config);
        BaselineTensors.Randomise(adapter, seed: 1);
        Assert.Equal(new long[] { 3, 2 * 3 * 5 }, adapter.LoraA.shape); // [r, (in/groups)·Πk]
        Assert.Equal(new long[] { 12, 3 }, adapter.LoraB.shape);
        var expected = BaselineTensors.ExplicitAdaLoraDelta(adapter, 5, conv.weight.shape);
        var delta = adapter.Delta();
        Assert.Equal(conv.weight.shape, delta.shape);
        TestTensors.AssertClose(expected, delta, 1e-5, 1e-7, "Delta");
    }

    [Fact]
    public void Lambda_starts_at_zero_P_and_Q_are_normal_with_std_0_02_and_the_layer_starts_as_the_base()
    {
        using var scope = torch.NewDisposeScope();
        var conv = nn.Conv2d(64, 128, 3, padding: 1);
        var adapter = Create(conv, new AdaLoraLayerConfig { Rank = 24, TargetRank = 16 });
        Assert.Equal(0f, adapter.LoraE.abs().max().item<float>());
        Assert.InRange(adapter.LoraA.std().item<float>(), 0.0195, 0.0205);
        Assert.InRange(adapter.LoraB.std().item<float>(), 0.0185, 0.0215);
        Assert.InRange(adapter.LoraA.mean().item<float>(), -0.001, 0.001);
        Assert.Equal(24 / (24 + 1e-5), adapter.Config.Scale, 15); // α defaults to the initial rank: PEFT's scale with α = r
        Assert.All(adapter.RankPattern, Assert.True);
        Assert.Equal(24, adapter.ActiveRank);

        var x = TestTensors.Randn(new long[] { 2, 64, 6, 6 }, seed: 2);
        foreach (var path in new[] { FloraForwardPath.Factorised, FloraForwardPath.Materialised, FloraForwardPath.Fused })
        {
            adapter.ForwardPath = path;
            TestTensors.AssertBitEqual(conv.forward(x), adapter.forward(x), path.ToString());
        }
    }

    [Fact]
    public void The_same_seed_draws_the_same_P_and_Q()
    {
        using var scope = torch.NewDisposeScope();
        torch.random.manual_seed(42);
        var first = Create(nn.Linear(10, 6), Config);
        torch.random.manual_seed(42);
        var second = Create(nn.Linear(10, 6), Config);
        TestTensors.AssertBitEqual(first.LoraA, second.LoraA, "Q");
        TestTensors.AssertBitEqual(first.LoraB, second.LoraB, "P");
    }

    [Fact]
    public void Sizes_spec_and_description_follow_the_configuration()
    {
        using var scope = torch.NewDisposeScope();
        var conv = nn.Conv2d(4, 6, 3);
        conv.to(ScalarType.BFloat16);
        var adapter = Create(conv, Config);
        Assert.All(adapter.AdapterTensors, t => Assert.Equal(ScalarType.Float32, t.Tensor.dtype)); // float32 beside a 16-bit base
        Assert.Equal(new[] { "lora_A", "lora_B", "lora_E" }, adapter.AdapterTensors.Select(t => t.Key));
        Assert.Equal(adapter.AdapterTensors.Sum(t => t.Tensor.numel()), adapter.TrainableParameters);
        Assert.Equal(3 * (36 + 6 + 1), adapter.TrainableParameters);
        Assert.Equal(BaselineSizeRules.AdaLoraParameters(conv.weight.shape, 3), adapter.TrainableParameters);
        Assert.Equal(FloraMethod.AdaLora, adapter.Method);
        Assert.Equal("r=3→2 α=5", adapter.Describe());
        Assert.Equal(new[] { 3, 3 }, adapter.Spec.Ranks); // [current r, ranknum]
        Assert.Equal(5 / (3 + 1e-5), adapter.Spec.Scale, 15);
        Assert.Equal(5.0, adapter.Spec.LoraAlpha);
        Assert.Equal(2, adapter.Spec.TargetRank);

        adapter.SetRankPattern(new[] { true, false, true });
        Assert.Equal(2, adapter.ActiveRank);
        Assert.Equal("r=3→2 α=5, 2 kept", adapter.Describe());
        Assert.Equal(new[] { true, false, true }, adapter.RankPattern);
        Assert.Equal(3 * (36 + 6 + 1), adapter.TrainableParameters); // masked triplets still train
    }

    [Fact]
    public void A_matched_target_rank_comes_from_the_FLoRA_budget_and_the_initial_rank_is_one_and_a_half_times_it()
    {
        long[] shape = { 64, 32, 3, 3 };
        var model = new FloraModelOptions { Rank = 8, R3 = 2 };
        var config = AdaLoraLayerConfig.Resolve("conv", shape, model, FloraTargetOptions.Inherit);
        long budget = FloraLayerConfig.Resolve("conv", shape, model, FloraTargetOptions.Inherit).TrainableParameters;
        int matched = BaselineSizeRules.MatchedAdaLoraRank(shape, budget);
        Assert.Equal(budget, config.MatchedBudget);
        Assert.Equal(matched, config.TargetRank);
        Assert.Equal((3 * matched + 1) / 2, config.Rank);
        Assert.True(System.Math.Abs(BaselineSizeRules.AdaLoraParameters(shape, matched) - budget) <= (64 + 288 + 1) / 2);
        Assert.Equal(config.Rank / (config.Rank + 1e-5), config.Scale, 15);

        var given = AdaLoraLayerConfig.Resolve("conv", shape, model with { AdaLora = new AdaLoraOptions { TargetRank = 4, InitRank = 10 }, LoraAlpha = 20 },
            new FloraTargetOptions { Dropout = 0.1 });
        Assert.Equal((10, 4, 20.0, 0.1), (given.Rank, given.TargetRank, given.EffectiveAlpha, given.Dropout));
        Assert.Null(given.MatchedBudget);
        Assert.Equal(6, AdaLoraLayerConfig.Resolve("conv", shape, model with { AdaLora = new AdaLoraOptions { TargetRank = 4 } }, FloraTargetOptions.Inherit).Rank);
    }

    [Fact]
    public void A_matched_target_above_an_explicit_initial_rank_is_clamped_and_described()
    {
        long[] shape = { 64, 32, 3, 3 };
        var model = new FloraModelOptions { Rank = 8, R3 = 2, AdaLora = new AdaLoraOptions { InitRank = 2 } };
        var config = AdaLoraLayerConfig.Resolve("conv", shape, model, FloraTargetOptions.Inherit);
        Assert.Equal(2, config.Rank);
        Assert.Equal(2, config.TargetRank);
        Assert.True(config.UnclampedTargetRank > 2);
        using var conv = nn.Conv2d(32, 64, 3);
        using var adapter = Create(conv, config);
        Assert.Equal($"r=2→2 (matched {config.UnclampedTargetRank}, clamped to InitRank) α=2", adapter.Describe());
    }

    [Fact]
    public void Bad_settings_name_the_setting_or_the_layer()
    {
        using var scope = torch.NewDisposeScope();
        var explicitAbove = Assert.Throws<ArgumentException>(() => AdaLoraLayerConfig.Resolve("head", new long[] { 4, 4 },
            new FloraModelOptions { AdaLora = new AdaLoraOptions { TargetRank = 8, InitRank = 4 } }, FloraTargetOptions.Inherit));
        Assert.Contains("TargetRank 8 exceeds InitRank 4", explicitAbove.Message);
        var linear = nn.Linear(4, 4);
        Assert.Contains("target rank 5 of 'layer'", Assert.Throws<ArgumentException>(() => Create(linear, new AdaLoraLayerConfig { Rank = 4, TargetRank = 5 })).Message);
        Assert.Contains("AdaLoRA alpha -1 of 'layer'", Assert.Throws<ArgumentException>(() => Create(linear, new AdaLoraLayerConfig { Rank = 2, TargetRank = 1, Alpha = -1 })).Message);
        Assert.Contains("initial rank 0 of 'layer'", Assert.Throws<ArgumentException>(() => Create(linear, new AdaLoraLayerConfig { Rank = 0, TargetRank = 1 })).Message);

        using var model = new Injection.TinyNet();
        var bad = Assert.Throws<ArgumentException>(() => FloraInjector.Attach(model, Injection.TinyNet.Config(new FloraModelOptions { AdaLora = new AdaLoraOptions { TInit = 5, TFinal = 5, TotalSteps = 10 } }), FloraMethod.AdaLora));
        Assert.Contains("TInit 5 + TFinal 5 must be less than TotalSteps 10", bad.Message);
        Assert.All(model.parameters(), p => Assert.True(p.requires_grad));
        Assert.DoesNotContain(model.modules(), m => m is IFloraAdapter);
    }
}
