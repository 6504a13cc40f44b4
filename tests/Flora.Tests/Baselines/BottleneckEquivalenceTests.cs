using TorchSharp.Modules;

namespace Flora.Tests.Baselines;

/// <summary>
/// Houlsby and Pfeiffer bottleneck adapters on one layer, against an independent float64 formulation of
/// <c>h + up(act(down(h)))</c> written here with explicit sums over the channels (no matmul, no convolution), for every
/// layer kind, batched and unbatched, float32 and bfloat16, with their gradients.
/// </summary>
[Collection(GlobalSeedCollection.Name)]
public class BottleneckEquivalenceTests
{
    private const int Width = 3;

    /// <summary>The layer of each case, its inputs batched and unbatched, and the axis its output's channels lie on.</summary>
    private static (nn.Module<Tensor, Tensor> Layer, long[] Batched, long[] Unbatched) Case(string kind) => kind switch
    {
        "linear" => (nn.Linear(6, 5), new long[] { 2, 3, 6 }, new long[] { 6 }),
        "conv1d" => (nn.Conv1d(4, 6, 3, stride: 2, padding: 1), new long[] { 2, 4, 9 }, new long[] { 4, 9 }),
        "conv2d" => (nn.Conv2d(4, 6, 3, stride: 2, padding: 1, dilation: 2), new long[] { 2, 4, 9, 9 }, new long[] { 4, 9, 9 }),
        "conv2d-grouped" => (nn.Conv2d(4, 6, 3, padding: 1, groups: 2), new long[] { 2, 4, 7, 7 }, new long[] { 4, 7, 7 }),
        "conv2d-depthwise" => (nn.Conv2d(6, 6, 5, padding: 2, groups: 6), new long[] { 2, 6, 7, 7 }, new long[] { 6, 7, 7 }),
        "conv3d" => (nn.Conv3d(3, 4, 3, stride: 2, padding: 1), new long[] { 2, 3, 5, 5, 5 }, new long[] { 3, 5, 5, 5 }),
        _ => throw new ArgumentException(kind),
    };

    private static readonly string[] Kinds = { "linear", "conv1d", "conv2d", "conv2d-grouped", "conv2d-depthwise", "conv3d" };

    public static TheoryData<FloraMethod, string, bool, ScalarType> Cases()
    {
        var data = new TheoryData<FloraMethod, string, bool, ScalarType>();
        foreach (var method in new[] { FloraMethod.Houlsby, FloraMethod.Pfeiffer })
            foreach (var kind in Kinds)
                foreach (bool batched in new[] { true, false })
                    foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
                        data.Add(method, kind, batched, dtype);
        return data;
    }

    /// <summary>
    /// <c>h + up(act(down(h)))</c> in float64: the channels moved to the last axis, <c>z[…, j] = Σ_i D[j, i]·h[…, i] + b[j]</c>
    /// as a broadcast product summed over i, swish as <c>z / (1 + e^(−z))</c>, ReLU as <c>max(z, 0)</c>, then the same sum for up.
    /// </summary>
    internal static Tensor ExplicitOutput(Tensor h, Tensor down, Tensor downBias, Tensor up, Tensor upBias, FloraMethod method, long channelAxis)
    {
        using var scope = torch.NewDisposeScope();
        var last = h.to(ScalarType.Float64).movedim(new[] { channelAxis }, new[] { -1L });
        var z = (last.unsqueeze(-2) * down).sum(-1) + downBias;
        var activated = method == FloraMethod.Houlsby ? z / (torch.exp(-z) + 1) : torch.where(z > 0, z, torch.zeros_like(z));
        var update = (activated.unsqueeze(-2) * up).sum(-1) + upBias;
        return (last + update).movedim(new[] { -1L }, new[] { channelAxis }).MoveToOuterDisposeScope();
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_output_and_gradients_equal_the_explicit_float64_formulation(FloraMethod method, string kind, bool batched, ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        var (layer, batchedShape, unbatchedShape) = Case(kind);
        // Base weights from a private generator: the layer's own initialisation draws from torch's global one, which tests
        // running in parallel share, and one unlucky draw leaves a single ReLU row with no active unit (a zero gradient).
        using (torch.no_grad())
            foreach (var ((_, parameter), i) in layer.named_parameters().Select((p, i) => (p, i)))
                parameter.copy_(TestTensors.Randn(parameter.shape, seed: 300 + i) * 0.5);
        layer.to(dtype);
        var adapter = (BottleneckAdapterLayer)FloraLayerTypes.CreateAdapter(method, "layer", layer, new FloraModelOptions { AdapterSize = Width });
        Assert.Equal(method, adapter.Method);
        Assert.All(adapter.AdapterTensors, t => Assert.Equal(ScalarType.Float32, t.Tensor.dtype)); // float32 beside a bf16 base too
        long channels = layer.get_parameter("weight")!.shape[0];
        Assert.Equal(new[] { "adapter_down.weight", "adapter_down.bias", "adapter_up.weight", "adapter_up.bias" }, adapter.AdapterTensors.Select(t => t.Key));
        Assert.Equal(new[] { new long[] { Width, channels }, new long[] { Width }, new long[] { channels, Width }, new long[] { channels } },
            adapter.AdapterTensors.Select(t => t.Tensor.shape));

        var x = TestTensors.Randn(batched ? batchedShape : unbatchedShape, seed: 31, dtype);
        var h = layer.forward(x).detach();
        TestTensors.AssertBitEqual(h, adapter.forward(x), $"{method} {kind} right after creation");

        BaselineTensors.Randomise(adapter, seed: 40);
        foreach (var (_, tensor) in adapter.AdapterTensors) tensor.requires_grad = true;
        var leaves = adapter.AdapterTensors.Select(t => t.Tensor.detach().to(ScalarType.Float64).requires_grad_(true)).ToArray();
        long channelAxis = kind == "linear" ? h.dim() - 1 : batched ? 1 : 0;
        var expected = ExplicitOutput(h, leaves[0], leaves[1], leaves[2], leaves[3], method, channelAxis);

        var actual = adapter.forward(x);
        Assert.Equal(dtype, actual.dtype);
        var (rtol, atol) = BaselineTensors.Tolerance(expected, dtype);
        TestTensors.AssertClose(expected, actual, rtol, atol, $"{method} {kind} batched={batched} {dtype}");
        Assert.False(actual.to(ScalarType.Float64).allclose(h.to(ScalarType.Float64)), "the randomised adapter changes the output");

        var weights = TestTensors.Randn(h.shape, seed: 41, dtype);
        (actual * weights).sum().backward();
        (expected * weights.to(ScalarType.Float64)).sum().backward();
        // The gradients are float32-exact even beside a bf16 base: h and the upstream gradient are bf16 values, exact in float32.
        foreach (var ((key, tensor), leaf) in adapter.AdapterTensors.Zip(leaves))
        {
            Assert.NotNull(tensor.grad);
            double scale = leaf.grad!.abs().max().item<double>();
            Assert.True(scale > 0, $"{key}: the expected gradient is not zero");
            TestTensors.AssertClose(leaf.grad!, tensor.grad!, 1e-4, 1e-4 * scale, $"{method} {kind} gradient of {key}");
        }
    }

    [Theory]
    [InlineData(FloraMethod.Houlsby, "swish")]
    [InlineData(FloraMethod.Pfeiffer, "relu")]
    public void Spec_count_and_description_name_the_width_and_activation(FloraMethod method, string activation)
    {
        using var conv = nn.Conv2d(4, 10, 3);
        using var adapter = (BottleneckAdapterLayer)FloraLayerTypes.CreateAdapter(method, "conv", conv, new FloraModelOptions { AdapterSize = 7 });
        Assert.Equal($"m=7 {activation}", adapter.Describe());
        Assert.Equal(new AdapterSpec("Conv2d", new long[] { 10, 4, 3, 3 }, new[] { 7 }, 1.0), adapter.Spec);
        Assert.Equal(1.0, adapter.Spec.Scale);
        Assert.Equal(7, adapter.Size);
        Assert.Equal(10, adapter.Channels);
        Assert.Equal(2 * 10 * 7 + 7 + 10, adapter.TrainableParameters);
        Assert.Equal(adapter.TrainableParameters, adapter.AdapterTensors.Sum(t => t.Tensor.numel()));
    }

    [Fact]
    public void Down_starts_like_nn_Linear_from_a_float32_draw_and_up_and_the_biases_at_zero()
    {
        using var scope = torch.NewDisposeScope();
        var conv = nn.Conv2d(4, 12, 3);
        var bf16 = nn.Conv2d(4, 12, 3);
        bf16.to(ScalarType.BFloat16);
        torch.manual_seed(123);
        var first = (BottleneckAdapterLayer)FloraLayerTypes.CreateAdapter(FloraMethod.Houlsby, "conv", conv, new FloraModelOptions { AdapterSize = 5 });
        torch.manual_seed(123);
        var inBf16 = (BottleneckAdapterLayer)FloraLayerTypes.CreateAdapter(FloraMethod.Houlsby, "conv", bf16, new FloraModelOptions { AdapterSize = 5, AutocastAdapterDtype = false });

        // kaiming_uniform_(a = √5) on [m, c]: bound = √3 · √(2 / (1 + 5)) / √c = 1/√c.
        double bound = 1 / System.Math.Sqrt(12);
        double largest = first.Down.abs().max().item<float>();
        Assert.True(largest <= bound && largest > 0.5 * bound, $"max |down| {largest} for bound {bound}");
        Assert.Equal(0f, first.DownBias.abs().sum().item<float>());
        Assert.Equal(0f, first.Up.abs().sum().item<float>());
        Assert.Equal(0f, first.UpBias.abs().sum().item<float>());
        Assert.Equal(ScalarType.BFloat16, inBf16.Down.dtype);
        TestTensors.AssertBitEqual(first.Down.to(ScalarType.BFloat16), inBf16.Down, "the same seed's draw, rounded to the base's bf16");
    }

    [Fact]
    public void A_registered_layer_type_takes_a_bottleneck_on_its_output_channels()
    {
        FloraLayerTypes.Register<Scaled1d>(layer => LayerGeometry.Convolution(layer.Conv, () => layer.Conv.weight!, () => layer.Conv.bias));
        try
        {
            using var scope = torch.NewDisposeScope();
            var layer = new Scaled1d();
            var adapter = (BottleneckAdapterLayer)FloraLayerTypes.CreateAdapter(FloraMethod.Pfeiffer, "custom", layer, new FloraModelOptions { AdapterSize = 2 });
            Assert.Equal(5, adapter.Channels);
            BaselineTensors.Randomise(adapter, seed: 50);
            var x = TestTensors.Randn(new long[] { 2, 3, 8 }, seed: 51);
            var h = layer.forward(x);
            var expected = ExplicitOutput(h, Double(adapter.Down), Double(adapter.DownBias), Double(adapter.Up), Double(adapter.UpBias), FloraMethod.Pfeiffer, channelAxis: 1);
            TestTensors.AssertClose(expected, adapter.forward(x), 1e-5, 1e-5, "a registered Conv1d-like layer");
        }
        finally
        {
            Assert.True(FloraLayerTypes.Unregister<Scaled1d>());
        }
    }

    private static Tensor Double(Tensor t) => t.detach().to(ScalarType.Float64);

    /// <summary>A user's layer that computes as its inner Conv1d (3 → 5 channels).</summary>
    private sealed class Scaled1d : nn.Module<Tensor, Tensor>
    {
        public Scaled1d() : base(nameof(Scaled1d))
        {
            Conv = nn.Conv1d(3, 5, 3, padding: 1);
            RegisterComponents();
        }

        public Conv1d Conv { get; }

        public override Tensor forward(Tensor input) => Conv.forward(input);
    }
}
