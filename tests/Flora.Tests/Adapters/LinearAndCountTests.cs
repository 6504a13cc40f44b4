using TorchSharp.Modules;

namespace Flora.Tests.Adapters;

/// <summary>FLoRA on Linear layers against <c>linear(x, W0 + Delta())</c>, trainable counts and rank clamping.</summary>
public class LinearAndCountTests
{
    public static TheoryData<FloraForwardPath, ScalarType, bool> Grid()
    {
        var data = new TheoryData<FloraForwardPath, ScalarType, bool>();
        foreach (var path in new[] { FloraForwardPath.Factorised, FloraForwardPath.Materialised, FloraForwardPath.Fused })
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
}
