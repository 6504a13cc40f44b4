using Flora.Tests.Adapters;
using TorchSharp.Modules;
using Case = Flora.Tests.Adapters.ConvolutionEquivalenceTests.Case;

namespace Flora.Tests.Baselines;

/// <summary>
/// LoRA against an independent formulation: the base layer's own forward with its weight set to
/// <c>W0 + (α/r)·reshape(B·A)</c>, ΔW computed here from <c>lora_B</c> and <c>lora_A</c> by an explicit sum over the rank.
/// The grid is the FLoRA convolution grid (stride, padding 0/1/same, padding modes, dilation, groups 1/2/depthwise,
/// non-square kernels, 1d/2d/3d, bias on and off, float32 and bfloat16), on both forward paths.
/// </summary>
public class LoraEquivalenceTests
{
    private static readonly LoraLayerConfig Config = new() { Rank = 3, Alpha = 5 };

    public static TheoryData<Case, FloraForwardPath, ScalarType> Grid() => ConvolutionEquivalenceTests.Grid();

    [Theory]
    [MemberData(nameof(Grid))]
    public void Conv_forward_equals_the_base_convolution_with_W0_plus_scaled_BA(Case c, FloraForwardPath path, ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        var conv = ConvolutionEquivalenceTests.CreateConv(c, dtype);
        var adapter = BaselineTensors.Create(conv, Config, dora: false);
        adapter.ForwardPath = path;
        BaselineTensors.Randomise(adapter, seed: 3);

        long spatial = c.Dims == 3 ? 7 : 11;
        var x = TestTensors.Randn(new long[] { 2, c.In }.Concat(Enumerable.Repeat(spatial, c.Dims)).ToArray(), seed: 4, dtype);
        var actual = adapter.forward(x);
        Assert.Equal(path, adapter.LastPath);

        var delta = BaselineTensors.ExplicitDelta(adapter.LoraA, adapter.LoraB, 5.0 / 3, conv.weight.shape);
        using (torch.no_grad()) conv.weight.add_(delta.to(dtype));
        var expected = conv.forward(x);
        var (rtol, atol) = BaselineTensors.Tolerance(expected, dtype);
        TestTensors.AssertClose(expected, actual, rtol, atol, $"{c.Name} {path} {dtype}");
    }

    public static TheoryData<FloraForwardPath, ScalarType, bool, bool> LinearGrid()
    {
        var data = new TheoryData<FloraForwardPath, ScalarType, bool, bool>();
        foreach (var path in new[] { FloraForwardPath.Factorised, FloraForwardPath.Materialised, FloraForwardPath.Fused })
            foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
                foreach (bool bias in new[] { true, false })
                    foreach (bool rsLora in new[] { false, true })
                        data.Add(path, dtype, bias, rsLora);
        return data;
    }

    [Theory]
    [MemberData(nameof(LinearGrid))]
    public void Linear_forward_equals_linear_with_W0_plus_scaled_BA(FloraForwardPath path, ScalarType dtype, bool bias, bool rsLora)
    {
        using var scope = torch.NewDisposeScope();
        var linear = nn.Linear(12, 7, hasBias: bias);
        linear.to(dtype);
        var adapter = new LoraLinear("head", linear, new LoraLayerConfig { Rank = 4, Alpha = 6, UseRsLora = rsLora }) { ForwardPath = path };
        BaselineTensors.Randomise(adapter, seed: 7);
        Assert.Equal(new long[] { 4, 12 }, adapter.LoraA.shape);
        Assert.Equal(new long[] { 7, 4 }, adapter.LoraB.shape);
        double scale = rsLora ? 6 / System.Math.Sqrt(4) : 6.0 / 4;
        Assert.Equal(scale, adapter.Config.Scale, 12);

        var x = TestTensors.Randn(new long[] { 2, 4, 12 }, seed: 8, dtype); // extra batch axes
        var actual = adapter.forward(x);
        Assert.Equal(path, adapter.LastPath);
        using (torch.no_grad()) linear.weight.add_(BaselineTensors.ExplicitDelta(adapter.LoraA, adapter.LoraB, scale, linear.weight.shape).to(dtype));
        var expected = linear.forward(x);
        var (rtol, atol) = BaselineTensors.Tolerance(expected, dtype);
        TestTensors.AssertClose(expected, actual, rtol, atol, $"linear {path} {dtype} bias {bias} rs {rsLora}");
    }

    [Fact]
    public void Delta_is_the_scaled_product_in_the_grouped_weight_shape()
    {
        using var scope = torch.NewDisposeScope();
        var conv = nn.Conv2d(8, 12, (3, 5), groups: 4);
        var adapter = new LoraConv2d("conv", conv, Config);
        BaselineTensors.Randomise(adapter, seed: 1);
        Assert.Equal(new long[] { 3, 2, 3, 5 }, adapter.LoraA.shape); // [r, in/groups, k…]
        Assert.Equal(new long[] { 12, 3 }, adapter.LoraB.shape);
        var expected = BaselineTensors.ExplicitDelta(adapter.LoraA, adapter.LoraB, 5.0 / 3, conv.weight.shape);
        TestTensors.AssertClose(expected, adapter.Delta(), 1e-5, 1e-6, "Delta");
        Assert.Equal(conv.weight.shape, adapter.Delta().shape);
    }

    [Fact]
    public void A_is_kaiming_uniform_with_a_sqrt5_B_is_zero_and_the_layer_starts_as_the_base()
    {
        using var scope = torch.NewDisposeScope();
        var conv = nn.Conv2d(64, 128, 3, padding: 1);
        var adapter = new LoraConv2d("conv", conv, new LoraLayerConfig { Rank = 32 });
        // kaiming_uniform_(a=√5): bound = √(6 / ((1 + 5)·fan_in)) = 1/√fan_in, fan_in = (in/groups)·Πk = 576.
        double bound = 1 / System.Math.Sqrt(64 * 9);
        Assert.True(adapter.LoraA.abs().max().item<float>() <= bound);
        Assert.InRange(adapter.LoraA.std().item<float>(), 0.97 * bound / System.Math.Sqrt(3), 1.03 * bound / System.Math.Sqrt(3));
        Assert.Equal(0f, adapter.LoraB.abs().max().item<float>());
        Assert.Equal(1.0, adapter.Config.Scale); // α defaults to r

        var x = TestTensors.Randn(new long[] { 2, 64, 6, 6 }, seed: 2);
        foreach (var path in new[] { FloraForwardPath.Factorised, FloraForwardPath.Materialised, FloraForwardPath.Fused })
        {
            adapter.ForwardPath = path;
            TestTensors.AssertBitEqual(conv.forward(x), adapter.forward(x), path.ToString());
        }
    }

    [Fact]
    public void Adapter_tensors_follow_the_base_weight_dtype_float32_beside_bfloat16()
    {
        using var scope = torch.NewDisposeScope();
        var conv = nn.Conv2d(4, 6, 3);
        conv.to(ScalarType.Float64);
        Assert.All(new LoraConv2d("conv", conv, Config).AdapterTensors, t => Assert.Equal(ScalarType.Float64, t.Tensor.dtype));
        conv.to(ScalarType.BFloat16);
        var adapter = new LoraConv2d("conv", conv, Config);
        Assert.All(adapter.AdapterTensors, t => Assert.Equal(ScalarType.Float32, t.Tensor.dtype));
        Assert.Equal(new[] { "lora_A", "lora_B" }, adapter.AdapterTensors.Select(t => t.Key));
        Assert.Equal(adapter.AdapterTensors.Sum(t => t.Tensor.numel()), adapter.TrainableParameters);
        Assert.Equal("r=3 α=5", adapter.Describe());
        Assert.Equal(new[] { 3 }, adapter.Spec.Ranks);
        Assert.Equal(5.0 / 3, adapter.Spec.Scale);
    }

    [Fact]
    public void The_cost_model_prices_LoRA_by_device_factorised_on_a_cpu_and_fused_on_a_gpu()
    {
        using var scope = torch.NewDisposeScope();
        var dense = new LoraConv2d("dense", nn.Conv2d(64, 64, 3, padding: 1), new LoraLayerConfig { Rank = 2 });
        var depthwise = new LoraConv2d("dw", nn.Conv2d(128, 128, 7, padding: 3, groups: 128), new LoraLayerConfig { Rank = 6 });
        var cpu = FloraCostContext.TrainingStep(DeviceType.CPU, ScalarType.Float32);
        var gpu = FloraCostContext.TrainingStep(DeviceType.CUDA, ScalarType.BFloat16);

        // The CPU shapes of docs/BENCHMARKS.md (batch 8), where the factorised LoRA step measured fastest on dense layers.
        Assert.Equal(FloraForwardPath.Factorised, dense.EstimateCost(new long[] { 8, 64, 28, 28 }, cpu).Cheapest());
        Assert.NotEqual(FloraForwardPath.Factorised, depthwise.EstimateCost(new long[] { 8, 128, 14, 14 }, cpu).Cheapest());
        // ConvNeXt-T shapes on a GPU in bfloat16 (batch 64): one fused layer call beats passes over the activation.
        Assert.Equal(FloraForwardPath.Fused, dense.EstimateCost(new long[] { 64, 64, 56, 56 }, gpu).Cheapest());
        Assert.Equal(FloraForwardPath.Fused, depthwise.EstimateCost(new long[] { 64, 128, 56, 56 }, gpu).Cheapest());

        // DoRA's unfused paths rescale the output: they cost more than LoRA's, its fused path about the same.
        var dora = new DoraConv2d("dense", nn.Conv2d(64, 64, 3, padding: 1), new LoraLayerConfig { Rank = 2 });
        var loraCost = dense.EstimateCost(new long[] { 8, 64, 28, 28 }, cpu);
        var doraCost = dora.EstimateCost(new long[] { 8, 64, 28, 28 }, cpu);
        Assert.True(doraCost.Factorised > loraCost.Factorised);
        Assert.True(doraCost.Fused < 1.1 * loraCost.Fused);

        // Auto follows the estimate per call; Adapt (the base output already computed) never takes the fused path.
        var x = TestTensors.Randn(new long[] { 8, 64, 28, 28 }, seed: 1);
        dense.forward(x);
        Assert.Equal(FloraForwardPath.Factorised, dense.LastPath);
        dense.ForwardPath = FloraForwardPath.Fused;
        dense.forward(x);
        Assert.Equal(FloraForwardPath.Fused, dense.LastPath);
        dense.Adapt(x, dense.BaseLayer.forward(x));
        Assert.NotEqual(FloraForwardPath.Fused, dense.LastPath);

        // A Linear: the chain is x·Aᵀ (rows·r·in multiply-adds) and ·Bᵀ (rows·r·out).
        var linear = new LoraLinear("head", nn.Linear(256, 512), new LoraLayerConfig { Rank = 4 });
        var rowsCost = linear.EstimateCost(new long[] { 8, 16, 256 }, cpu);
        Assert.True(rowsCost.Factorised < rowsCost.Materialised);
    }

    [Fact]
    public void Bad_settings_name_the_layer()
    {
        using var scope = torch.NewDisposeScope();
        var linear = nn.Linear(4, 4);
        Assert.Contains("LoRA rank 0 of 'head'", Assert.Throws<ArgumentException>(() => new LoraLinear("head", linear, new LoraLayerConfig { Rank = 0 })).Message);
        Assert.Contains("LoRA alpha -1 of 'head'", Assert.Throws<ArgumentException>(() => new LoraLinear("head", linear, new LoraLayerConfig { Rank = 2, Alpha = -1 })).Message);
        Assert.Contains("Dropout 1 of 'head'", Assert.Throws<ArgumentException>(() => new LoraLinear("head", linear, new LoraLayerConfig { Rank = 2, Dropout = 1 })).Message);
    }
}
