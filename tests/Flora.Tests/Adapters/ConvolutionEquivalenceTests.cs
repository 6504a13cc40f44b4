using TorchSharp.Modules;

namespace Flora.Tests.Adapters;

/// <summary>
/// Every FLoRA convolution path against an independent formulation: TorchSharp's own convolution layer run with the
/// weight <c>W0 + Delta()</c> (Delta itself is checked against the explicit Tucker sum), across strides, padding, padding
/// modes, dilation, groups, non-square kernels, 1d/2d/3d, bias on and off, float32 and bfloat16.
/// </summary>
public class ConvolutionEquivalenceTests
{
    /// <summary>One convolution geometry of the grid.</summary>
    public sealed record Case(string Name, int Dims, long In, long Out, long[] Kernel, long Stride, string Padding, long Dilation, long Groups, bool Bias, PaddingModes Mode = PaddingModes.Zeros)
    {
        public override string ToString() => Name;
    }

    public static IEnumerable<Case> Cases()
    {
        foreach (long stride in new long[] { 1, 2 })
            foreach (string padding in new[] { "0", "1", "same" })
                foreach (long dilation in new long[] { 1, 2 })
                    foreach (long groups in new long[] { 1, 2, 8 })
                    {
                        if (padding == "same" && stride != 1) continue; // TorchSharp (like PyTorch) rejects 'same' with stride
                        bool bias = (stride + dilation + groups) % 2 == 0;
                        yield return new Case($"2d 3x5 s{stride} p{padding} d{dilation} g{groups} bias{bias}", 2, 8, 8, new long[] { 3, 5 }, stride, padding, dilation, groups, bias);
                    }
        yield return new Case("2d 3x3 reflect p1", 2, 4, 6, new long[] { 3, 3 }, 1, "1", 1, 1, true, PaddingModes.Reflect);
        yield return new Case("2d 3x3 circular p2 s2", 2, 4, 6, new long[] { 3, 3 }, 2, "2", 1, 2, false, PaddingModes.Circular);
        yield return new Case("2d 5x3 replicate same d2", 2, 6, 4, new long[] { 5, 3 }, 1, "same", 2, 1, true, PaddingModes.Replicate);
        yield return new Case("2d 7x7 depthwise p3", 2, 8, 8, new long[] { 7, 7 }, 1, "3", 1, 8, true);
        yield return new Case("2d 1x1 pointwise", 2, 8, 16, new long[] { 1, 1 }, 1, "0", 1, 1, true);
        yield return new Case("2d 2x2 s2 downsample", 2, 4, 8, new long[] { 2, 2 }, 2, "0", 1, 1, true);
        yield return new Case("1d k5 s2 p2", 1, 6, 4, new long[] { 5 }, 2, "2", 1, 1, true);
        yield return new Case("1d k3 same d2 g2", 1, 6, 4, new long[] { 3 }, 1, "same", 2, 2, false);
        yield return new Case("1d k7 depthwise reflect p3", 1, 6, 6, new long[] { 7 }, 1, "3", 1, 6, true, PaddingModes.Reflect);
        yield return new Case("3d 3x3x3 p1", 3, 4, 6, new long[] { 3, 3, 3 }, 1, "1", 1, 1, true);
        yield return new Case("3d 3x2x3 s2 d1 g2", 3, 4, 6, new long[] { 3, 2, 3 }, 2, "1", 1, 2, false);
        yield return new Case("3d 3x3x3 same d2 depthwise", 3, 4, 4, new long[] { 3, 3, 3 }, 1, "same", 2, 4, true);
    }

    public static TheoryData<Case, FloraForwardPath, ScalarType> Grid()
    {
        var data = new TheoryData<Case, FloraForwardPath, ScalarType>();
        foreach (var c in Cases())
            foreach (var path in new[] { FloraForwardPath.Factorised, FloraForwardPath.Materialised, FloraForwardPath.Fused })
            {
                data.Add(c, path, ScalarType.Float32);
                if (c.Groups <= 2) data.Add(c, path, ScalarType.BFloat16);
            }
        return data;
    }

    [Theory]
    [MemberData(nameof(Grid))]
    public void Adapter_forward_equals_the_base_convolution_with_W0_plus_delta(Case c, FloraForwardPath path, ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        var conv = CreateConv(c, dtype);
        var adapter = CreateAdapter(c, conv, new FloraModelOptions { Rank = 3, R3 = 2, Scale = 0.7 });
        TestTensors.RandomiseCore(adapter, seed: 3);
        adapter.ForwardPath = path;

        long spatial = c.Dims == 3 ? 7 : 11;
        var x = TestTensors.Randn(new long[] { 2, c.In }.Concat(Enumerable.Repeat(spatial, c.Dims)).ToArray(), seed: 4, dtype);
        var actual = adapter.forward(x);
        Assert.Equal(path, adapter.LastPath);

        using (torch.no_grad()) conv.weight.add_(adapter.Delta());
        var expected = conv.forward(x);

        // bfloat16 keeps 8 significant bits and every stage rounds: compare against the output's scale.
        double scale = expected.abs().max().to(ScalarType.Float64).item<double>();
        double rtol = dtype == ScalarType.BFloat16 ? 2e-2 : 1e-5, atol = dtype == ScalarType.BFloat16 ? 2e-2 * scale : 1e-5;
        TestTensors.AssertClose(expected, actual, rtol, atol, c.Name + " " + path + " " + dtype);
    }

    [Theory]
    [MemberData(nameof(Grid))]
    public void Delta_has_the_base_weight_shape_dtype_and_grouped_layout(Case c, FloraForwardPath path, ScalarType dtype)
    {
        _ = path;
        using var scope = torch.NewDisposeScope();
        var conv = CreateConv(c, dtype);
        var adapter = CreateAdapter(c, conv, new FloraModelOptions());
        var delta = adapter.Delta();
        Assert.Equal(conv.weight.shape, delta.shape);
        Assert.Equal(dtype, delta.dtype);
        Assert.Equal(0.0, delta.abs().max().to(ScalarType.Float64).item<double>()); // the core starts at zero
    }

    [Fact]
    public void At_initialisation_the_adapted_layer_equals_the_base_layer_exactly()
    {
        using var scope = torch.NewDisposeScope();
        var conv = torch.nn.Conv2d(4, 6, 3, padding: 1);
        var adapter = new FloraConv2d("conv", conv, FloraLayerConfig.Resolve("conv", conv.weight.shape, new FloraModelOptions(), FloraTargetOptions.Inherit));
        var x = TestTensors.Randn(new long[] { 2, 4, 9, 9 }, seed: 5);
        foreach (var path in new[] { FloraForwardPath.Factorised, FloraForwardPath.Materialised, FloraForwardPath.Fused })
        {
            adapter.ForwardPath = path;
            TestTensors.AssertBitEqual(conv.forward(x), adapter.forward(x), path.ToString());
        }
    }

    [Fact]
    public void Factors_are_kaiming_normal_with_a_sqrt3_and_the_core_is_zero()
    {
        using var scope = torch.NewDisposeScope();
        var conv = torch.nn.Conv2d(256, 512, 3);
        var adapter = new FloraConv2d("conv", conv, FloraLayerConfig.Resolve("conv", conv.weight.shape, new FloraModelOptions { Rank = 64, R3 = 3 }, FloraTargetOptions.Inherit));
        // kaiming_normal_(a=√3), fan_in = r: std = sqrt(2 / (1 + 3)) / sqrt(r) = 1 / sqrt(2r).
        foreach (var (mode, rank) in new[] { (0, 64), (1, 64) })
        {
            double std = adapter.Factor(mode).std().item<float>();
            Assert.InRange(std, 0.95 / System.Math.Sqrt(2 * rank), 1.05 / System.Math.Sqrt(2 * rank));
        }
        Assert.Equal(0f, adapter.Core.abs().max().item<float>());
        Assert.Equal(new long[] { 64, 64, 3, 3 }, adapter.Core.shape);
        Assert.Equal(new long[] { 3, 3 }, adapter.Factor(2).shape);
    }

    internal static Convolution CreateConv(Case c, ScalarType dtype)
    {
        long k0 = c.Kernel[0];
        long p = c.Padding == "same" ? 0 : long.Parse(c.Padding);
        bool same = c.Padding == "same";
        Convolution conv = c.Dims switch
        {
            1 => same
                ? torch.nn.Conv1d(c.In, c.Out, k0, Padding.Same, dilation: c.Dilation, padding_mode: c.Mode, groups: c.Groups, bias: c.Bias)
                : torch.nn.Conv1d(c.In, c.Out, k0, stride: c.Stride, padding: p, dilation: c.Dilation, padding_mode: c.Mode, groups: c.Groups, bias: c.Bias),
            2 => same
                ? torch.nn.Conv2d(c.In, c.Out, (k0, c.Kernel[1]), Padding.Same, dilation: (c.Dilation, c.Dilation), padding_mode: c.Mode, groups: c.Groups, bias: c.Bias)
                : torch.nn.Conv2d(c.In, c.Out, (k0, c.Kernel[1]), stride: (c.Stride, c.Stride), padding: (p, p), dilation: (c.Dilation, c.Dilation), padding_mode: c.Mode, groups: c.Groups, bias: c.Bias),
            _ => same
                ? torch.nn.Conv3d(c.In, c.Out, (k0, c.Kernel[1], c.Kernel[2]), Padding.Same, dilation: (c.Dilation, c.Dilation, c.Dilation), padding_mode: c.Mode, groups: c.Groups, bias: c.Bias)
                : torch.nn.Conv3d(c.In, c.Out, (k0, c.Kernel[1], c.Kernel[2]), stride: (c.Stride, c.Stride, c.Stride), padding: (p, p, p), dilation: (c.Dilation, c.Dilation, c.Dilation), padding_mode: c.Mode, groups: c.Groups, bias: c.Bias),
        };
        conv.to(dtype);
        return conv;
    }

    internal static FloraConvolution CreateAdapter(Case c, Convolution conv, FloraModelOptions model)
    {
        var config = FloraLayerConfig.Resolve(c.Name, conv.weight.shape, model, FloraTargetOptions.Inherit);
        return conv switch
        {
            Conv1d c1 => new FloraConv1d(c.Name, c1, config),
            Conv2d c2 => new FloraConv2d(c.Name, c2, config),
            Conv3d c3 => new FloraConv3d(c.Name, c3, config),
            _ => throw new ArgumentException(conv.GetType().Name),
        };
    }
}
