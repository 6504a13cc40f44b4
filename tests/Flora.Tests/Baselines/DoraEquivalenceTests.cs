using Flora.Tests.Adapters;
using TorchSharp.Modules;
using Case = Flora.Tests.Adapters.ConvolutionEquivalenceTests.Case;

namespace Flora.Tests.Baselines;

/// <summary>
/// DoRA against an explicit formulation computed here with plain tensor ops in float64:
/// <c>W' = m·(W0 + ΔW)/‖W0 + ΔW‖</c>, then the base layer's own forward with W' and its own bias.
/// </summary>
public class DoraEquivalenceTests
{
    private static readonly LoraLayerConfig Config = new() { Rank = 3, Alpha = 5 };

    public static TheoryData<Case, FloraForwardPath, ScalarType> Grid() => ConvolutionEquivalenceTests.Grid();

    [Theory]
    [MemberData(nameof(Grid))]
    public void Conv_forward_equals_the_base_convolution_with_the_decomposed_weight(Case c, FloraForwardPath path, ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        var conv = ConvolutionEquivalenceTests.CreateConv(c, dtype);
        var adapter = (DoraLayer)BaselineTensors.Create(conv, Config, dora: true);
        adapter.ForwardPath = path;
        BaselineTensors.Randomise(adapter, seed: 5);

        long spatial = c.Dims == 3 ? 7 : 11;
        var x = TestTensors.Randn(new long[] { 2, c.In }.Concat(Enumerable.Repeat(spatial, c.Dims)).ToArray(), seed: 6, dtype);
        var actual = adapter.forward(x);
        Assert.Equal(path, adapter.LastPath);

        var delta = BaselineTensors.ExplicitDelta(adapter.LoraA, adapter.LoraB, 5.0 / 3, conv.weight.shape);
        var adapted = BaselineTensors.ExplicitDoraWeight(conv.weight, delta, adapter.Magnitude);
        using (torch.no_grad()) conv.weight.copy_(adapted);
        var expected = conv.forward(x);
        var (rtol, atol) = BaselineTensors.Tolerance(expected, dtype);
        TestTensors.AssertClose(expected, actual, rtol, atol, $"{c.Name} {path} {dtype}");
    }

    [Theory]
    [InlineData(FloraForwardPath.Factorised, ScalarType.Float32, true)]
    [InlineData(FloraForwardPath.Materialised, ScalarType.Float32, true)]
    [InlineData(FloraForwardPath.Factorised, ScalarType.Float32, false)]
    [InlineData(FloraForwardPath.Materialised, ScalarType.BFloat16, true)]
    [InlineData(FloraForwardPath.Factorised, ScalarType.BFloat16, false)]
    [InlineData(FloraForwardPath.Fused, ScalarType.Float32, true)]
    [InlineData(FloraForwardPath.Fused, ScalarType.BFloat16, false)]
    public void Linear_forward_equals_linear_with_the_decomposed_weight(FloraForwardPath path, ScalarType dtype, bool bias)
    {
        using var scope = torch.NewDisposeScope();
        var linear = nn.Linear(12, 7, hasBias: bias);
        linear.to(dtype);
        var adapter = new DoraLinear("head", linear, Config) { ForwardPath = path };
        BaselineTensors.Randomise(adapter, seed: 9);
        Assert.Equal(new long[] { 7 }, adapter.Magnitude.shape);

        var x = TestTensors.Randn(new long[] { 3, 2, 12 }, seed: 10, dtype);
        var actual = adapter.forward(x);
        var delta = BaselineTensors.ExplicitDelta(adapter.LoraA, adapter.LoraB, 5.0 / 3, linear.weight.shape);
        var adapted = BaselineTensors.ExplicitDoraWeight(linear.weight, delta, adapter.Magnitude);
        var expected = nn.functional.linear(x, adapted.to(dtype), linear.bias);
        var (rtol, atol) = BaselineTensors.Tolerance(expected, dtype);
        TestTensors.AssertClose(expected, actual, rtol, atol, $"linear {path} {dtype} bias {bias}");
    }

    [Fact]
    public void The_magnitude_starts_at_the_weight_norm_and_the_output_at_the_base_output_exactly()
    {
        using var scope = torch.NewDisposeScope();
        foreach (var (conv, x) in new (Convolution, Tensor)[]
                 {
                     (nn.Conv2d(6, 8, 3, padding: 1), TestTensors.Randn(new long[] { 2, 6, 9, 9 }, seed: 1)),
                     (nn.Conv2d(8, 8, 7, padding: 3, groups: 8), TestTensors.Randn(new long[] { 2, 8, 9, 9 }, seed: 2)),
                     (nn.Conv1d(4, 6, 5, stride: 2, bias: false), TestTensors.Randn(new long[] { 2, 4, 17 }, seed: 3)),
                 })
        {
            var adapter = (DoraLayer)BaselineTensors.Create(conv, Config, dora: true);
            var norms = conv.weight.detach().to(ScalarType.Float64).flatten(1).square().sum(1).sqrt();
            TestTensors.AssertClose(norms, adapter.Magnitude, 1e-6, 0, "magnitude = ‖W0‖");
            foreach (var path in new[] { FloraForwardPath.Factorised, FloraForwardPath.Materialised, FloraForwardPath.Fused })
            {
                adapter.ForwardPath = path;
                TestTensors.AssertBitEqual(conv.forward(x), adapter.forward(x), $"{conv.GetType().Name} {path}");
            }
        }
        var linear = nn.Linear(10, 5);
        var dora = new DoraLinear("head", linear, Config);
        var input = TestTensors.Randn(new long[] { 4, 10 }, seed: 4);
        TestTensors.AssertBitEqual(linear.forward(input), dora.forward(input), "linear");
        Assert.Equal(new[] { "lora_A", "lora_B", "magnitude" }, dora.AdapterTensors.Select(t => t.Key));
        Assert.Equal(3 * (5 + 10) + 5, dora.TrainableParameters);
        Assert.Equal(dora.AdapterTensors.Sum(t => t.Tensor.numel()), dora.TrainableParameters);
    }

    /// <summary>
    /// The gradients of A, B and m equal those of the explicit formulation with the norm detached (DoRA §4.3), written
    /// here as a functional convolution with <c>W' = m·(W0 + ΔW)/sg(‖W0 + ΔW‖)</c>.
    /// </summary>
    [Theory]
    [InlineData(FloraForwardPath.Factorised)]
    [InlineData(FloraForwardPath.Materialised)]
    [InlineData(FloraForwardPath.Fused)]
    public void Gradients_match_the_explicit_formulation_with_the_norm_detached(FloraForwardPath path)
    {
        using var scope = torch.NewDisposeScope();
        var conv = nn.Conv2d(4, 6, 3, stride: 2, padding: 1, groups: 2);
        conv.weight.requires_grad = false;
        conv.bias!.requires_grad = false;
        var adapter = new DoraConv2d("conv", conv, Config) { ForwardPath = path };
        BaselineTensors.Randomise(adapter, seed: 11);
        var x = TestTensors.Randn(new long[] { 2, 4, 9, 9 }, seed: 12);
        var weights = TestTensors.Randn(new long[] { 2, 6, 5, 5 }, seed: 13);
        (adapter.forward(x) * weights).sum().backward();

        var a = adapter.LoraA.detach().clone().requires_grad_();
        var b = adapter.LoraB.detach().clone().requires_grad_();
        var m = adapter.Magnitude.detach().clone().requires_grad_();
        var delta = b.matmul(a.reshape(3, -1)).reshape(conv.weight.shape) * (5.0 / 3);
        var adapted = conv.weight + delta;
        var norm = adapted.square().sum(new long[] { 1, 2, 3 }, keepdim: true).sqrt().detach();
        var explicitWeight = m.reshape(6, 1, 1, 1) * adapted / norm;
        var y = nn.functional.conv2d(x, explicitWeight, conv.bias, strides: new long[] { 2, 2 }, padding: new long[] { 1, 1 }, groups: 2);
        (y * weights).sum().backward();

        TestTensors.AssertClose(a.grad!, adapter.LoraA.grad!, 1e-4, GradientAtol(a.grad!), "dA");
        TestTensors.AssertClose(b.grad!, adapter.LoraB.grad!, 1e-4, GradientAtol(b.grad!), "dB");
        TestTensors.AssertClose(m.grad!, adapter.Magnitude.grad!, 1e-4, GradientAtol(m.grad!), "dm");
    }

    [Fact]
    public void Merge_writes_the_decomposed_weight_and_unmerge_restores_W0()
    {
        using var scope = torch.NewDisposeScope();
        var conv = nn.Conv2d(8, 8, 7, padding: 3, groups: 8);
        var adapter = new DoraConv2d("dw", conv, Config);
        BaselineTensors.Randomise(adapter, seed: 14);
        var original = conv.weight.detach().clone();
        var x = TestTensors.Randn(new long[] { 2, 8, 10, 10 }, seed: 15);
        var unmerged = adapter.forward(x);

        var expectedWeight = BaselineTensors.ExplicitDoraWeight(conv.weight, BaselineTensors.ExplicitDelta(adapter.LoraA, adapter.LoraB, 5.0 / 3, conv.weight.shape), adapter.Magnitude);
        adapter.Merge();
        TestTensors.AssertClose(expectedWeight, conv.weight, 1e-5, 1e-6, "merged weight");
        TestTensors.AssertClose(unmerged, adapter.forward(x), 1e-5, 1e-5, "merged vs unmerged");
        adapter.Unmerge();
        TestTensors.AssertClose(original, conv.weight, 1e-5, 1e-6, "unmerged weight");
    }

    [Fact]
    public void A_zero_magnitude_still_unmerges_to_W0()
    {
        using var scope = torch.NewDisposeScope();
        var linear = nn.Linear(6, 4);
        var adapter = new DoraLinear("head", linear, Config);
        BaselineTensors.Randomise(adapter, seed: 16);
        using (torch.no_grad()) adapter.Magnitude[1] = torch.tensor(0f);
        var original = linear.weight.detach().clone();
        adapter.Merge();
        Assert.Equal(0f, linear.weight[1].abs().max().item<float>());
        adapter.Unmerge();
        TestTensors.AssertClose(original, linear.weight, 1e-5, 1e-6, "unmerged weight");
    }

    /// <summary>float32 gradients are sums of many products: their rounding grows with their magnitude (the base conv's weights are random).</summary>
    private static double GradientAtol(Tensor expected) => 1e-6 * System.Math.Max(1.0, expected.abs().max().to(ScalarType.Float64).item<double>());
}
