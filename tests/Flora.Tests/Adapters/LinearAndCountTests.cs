using TorchSharp.Modules;

namespace Flora.Tests.Adapters;

/// <summary>FLoRA on Linear layers against <c>linear(x, W0 + Delta())</c>, and the factorised/materialised cost model.</summary>
public class LinearAndCostModelTests
{
    public static TheoryData<FloraForwardPath, ScalarType, bool> Grid()
    {
        var data = new TheoryData<FloraForwardPath, ScalarType, bool>();
        foreach (var path in new[] { FloraForwardPath.Factorised, FloraForwardPath.Materialised })
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
        foreach (bool bias in new[] { true, false })
            data.Add(path, dtype, bias);
        return data;
    }

    [Theory]
    [MemberData(nameof(Grid))]
    public void Linear_forward_equals_linear_with_W0_plus_delta(FloraForwardPath path, ScalarType dtype, bool bias)
    {
        using var scope = torch.NewDisposeScope();
        var linear = torch.nn.Linear(12, 7, hasBias: bias);
        linear.to(dtype);
        var config = FloraLayerConfig.Resolve("head", linear.weight.shape, new FloraModelOptions(), new FloraTargetOptions { OutRank = 3, InRank = 5, Scale = 4 });
        var adapter = new FloraLinear("head", linear, config) { ForwardPath = path };
        TestTensors.RandomiseCore(adapter, seed: 7);
        Assert.Equal(new long[] { 3, 5 }, adapter.Core.shape);

        var x = TestTensors.Randn(new long[] { 2, 4, 12 }, seed: 8, dtype); // extra batch axes
        var actual = adapter.forward(x);
        var expected = torch.nn.functional.linear(x, linear.weight + adapter.Delta(), linear.bias);

        // ΔW = U_out G U_inᵀ, checked as plain matrix products in double precision.
        var explicitDelta = adapter.Factor(0).to(ScalarType.Float64).matmul(adapter.Core.to(ScalarType.Float64)).matmul(adapter.Factor(1).to(ScalarType.Float64).t()) * 4.0;
        TestTensors.AssertClose(explicitDelta, adapter.Delta(), rtol: dtype == ScalarType.BFloat16 ? 2e-2 : 1e-5, atol: dtype == ScalarType.BFloat16 ? 5e-2 : 1e-5, "U_out G U_inᵀ");

        double scale = expected.abs().max().to(ScalarType.Float64).item<double>();
        double tol = dtype == ScalarType.BFloat16 ? 2e-2 : 1e-5;
        TestTensors.AssertClose(expected, actual, tol, dtype == ScalarType.BFloat16 ? tol * scale : tol, $"linear {path} {dtype}");
    }

    [Fact]
    public void Trainable_count_is_the_core_plus_every_factor()
    {
        var config = FloraLayerConfig.Resolve("conv", new long[] { 64, 32, 3, 3 }, new FloraModelOptions { Rank = 8, R3 = 2 }, FloraTargetOptions.Inherit);
        Assert.Equal(8 * 8 * 2 * 2 + 64 * 8 + 32 * 8 + 2 * 3 * 2, config.TrainableParameters);
        using var conv = torch.nn.Conv2d(32, 64, 3);
        using var adapter = new FloraConv2d("conv", conv, config);
        Assert.Equal(adapter.AdapterTensors.Sum(t => t.Tensor.numel()), adapter.TrainableParameters);
    }

    [Fact]
    public void Ranks_clamp_to_their_modes_and_a_depthwise_in_rank_becomes_one()
    {
        var config = FloraLayerConfig.Resolve("dw", new long[] { 96, 1, 7, 7 }, new FloraModelOptions { Rank = 16, R3 = 4 }, FloraTargetOptions.Inherit);
        Assert.Equal(new[] { 16, 1, 4, 4 }, config.Ranks);
        var pointwise = FloraLayerConfig.Resolve("pw", new long[] { 8, 4, 1, 1 }, new FloraModelOptions { Rank = 16, R3 = 2 }, FloraTargetOptions.Inherit);
        Assert.Equal(new[] { 8, 4, 1, 1 }, pointwise.Ranks);
    }

    [Fact]
    public void The_cost_model_picks_materialised_for_depthwise_and_factorised_for_dense_convolutions()
    {
        using var scope = torch.NewDisposeScope();
        var depthwise = torch.nn.Conv2d(128, 128, 7, padding: 3, groups: 128);
        var dw = new FloraConv2d("dw", depthwise, FloraLayerConfig.Resolve("dw", depthwise.weight.shape, new FloraModelOptions { Rank = 8, R3 = 2 }, FloraTargetOptions.Inherit));
        Assert.Equal(FloraForwardPath.Materialised, dw.EstimateCost(new long[] { 64, 128, 56, 56 }).Cheaper);

        var dense = torch.nn.Conv2d(128, 128, 3, padding: 1);
        var d = new FloraConv2d("dense", dense, FloraLayerConfig.Resolve("dense", dense.weight.shape, new FloraModelOptions { Rank = 8, R3 = 2 }, FloraTargetOptions.Inherit));
        var estimate = d.EstimateCost(new long[] { 64, 128, 56, 56 });
        Assert.Equal(FloraForwardPath.Factorised, estimate.Cheaper);
        Assert.True(estimate.MaterialisedMacs > 5 * estimate.FactorisedMacs);

        // Auto follows the estimate, per call.
        var x = TestTensors.Randn(new long[] { 1, 128, 9, 9 }, seed: 1);
        dw.forward(x);
        Assert.Equal(FloraForwardPath.Materialised, dw.LastPath);
        d.forward(x);
        Assert.Equal(FloraForwardPath.Factorised, d.LastPath);
    }

    [Fact]
    public void A_full_rank_linear_on_few_rows_is_cheaper_materialised()
    {
        var config = FloraLayerConfig.Resolve("fc", new long[] { 16, 16 }, new FloraModelOptions { Rank = 16 }, FloraTargetOptions.Inherit);
        // factorised: rows·(16·16 + 16·16 + 16·16) vs materialised rows·16·16 + reconstruction
        Assert.Equal(FloraForwardPath.Materialised, FloraCostModel.Estimate(config, 1, batch: 1000, 1, 1).Cheaper);
        var lowRank = FloraLayerConfig.Resolve("fc", new long[] { 512, 512 }, new FloraModelOptions { Rank = 4 }, FloraTargetOptions.Inherit);
        Assert.Equal(FloraForwardPath.Factorised, FloraCostModel.Estimate(lowRank, 1, batch: 1000, 1, 1).Cheaper);
    }
}
