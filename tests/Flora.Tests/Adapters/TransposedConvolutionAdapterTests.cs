using System.IO;
using TorchSharp.Modules;

namespace Flora.Tests.Adapters;

/// <summary>
/// FLoRA, LoRA and DoRA on ConvTranspose1d/2d/3d against independent formulations: <c>conv_transpose(x, W0 + s·ΔW)</c>
/// with ΔW built in float64 by explicit broadcast sums from the adapter's own tensors, and for 1d an explicit
/// double-precision sum definition of the transposed convolution itself; across stride, padding, output padding,
/// dilation, groups (grouped and depthwise), non-square kernels, float32 and bfloat16, and every forward path.
/// </summary>
public class TransposedConvolutionAdapterTests
{
    /// <summary>One transposed-convolution geometry of the grid.</summary>
    public sealed record Case(string Name, int Dims, long In, long Out, long[] Kernel, long Stride, long Padding, long OutputPadding, long Dilation, long Groups, bool Bias)
    {
        public override string ToString() => Name;
    }

    public static IEnumerable<Case> Cases()
    {
        yield return new Case("1d k3", 1, 4, 6, new long[] { 3 }, 1, 0, 0, 1, 1, true);
        yield return new Case("1d k4 s2 p1 op1 d2 g2", 1, 6, 4, new long[] { 4 }, 2, 1, 1, 2, 2, false);
        yield return new Case("1d k5 s3 p2 op2 depthwise", 1, 6, 6, new long[] { 5 }, 3, 2, 2, 1, 6, true);
        yield return new Case("2d 3x3 s2 op1", 2, 8, 16, new long[] { 3, 3 }, 2, 1, 1, 1, 1, true);
        yield return new Case("2d 3x5 s2 p2 op1 d2 g2", 2, 8, 4, new long[] { 3, 5 }, 2, 2, 1, 2, 2, false);
        yield return new Case("2d 2x2 s2 up", 2, 4, 8, new long[] { 2, 2 }, 2, 0, 0, 1, 1, true);
        yield return new Case("2d 3x3 depthwise g4 out8", 2, 4, 8, new long[] { 3, 3 }, 1, 1, 0, 1, 4, true);
        yield return new Case("3d 3x2x3 s2 p1 op1 g2", 3, 4, 6, new long[] { 3, 2, 3 }, 2, 1, 1, 1, 2, true);
        yield return new Case("3d 2x2x2 d2", 3, 2, 4, new long[] { 2, 2, 2 }, 1, 0, 0, 2, 1, false);
    }

    private static readonly FloraForwardPath[] Paths = { FloraForwardPath.Factorised, FloraForwardPath.Materialised, FloraForwardPath.Fused };

    public static TheoryData<Case, FloraForwardPath, ScalarType> Grid()
    {
        var data = new TheoryData<Case, FloraForwardPath, ScalarType>();
        foreach (var c in Cases())
            foreach (var path in Paths)
            {
                data.Add(c, path, ScalarType.Float32);
                if (c.Dims == 2) data.Add(c, path, ScalarType.BFloat16);
            }
        return data;
    }

    public static TheoryData<Case, FloraForwardPath> Float32Grid()
    {
        var data = new TheoryData<Case, FloraForwardPath>();
        foreach (var c in Cases())
            foreach (var path in Paths)
                data.Add(c, path);
        return data;
    }

    internal static Convolution CreateConv(Case c, ScalarType dtype = ScalarType.Float32, long seed = 1)
    {
        Convolution conv = c.Dims switch
        {
            1 => nn.ConvTranspose1d(c.In, c.Out, c.Kernel[0], c.Stride, c.Padding, c.OutputPadding, c.Dilation, groups: c.Groups, bias: c.Bias),
            2 => nn.ConvTranspose2d(c.In, c.Out, (c.Kernel[0], c.Kernel[1]), (c.Stride, c.Stride), (c.Padding, c.Padding), (c.OutputPadding, c.OutputPadding),
                (c.Dilation, c.Dilation), groups: c.Groups, bias: c.Bias),
            _ => nn.ConvTranspose3d(c.In, c.Out, (c.Kernel[0], c.Kernel[1], c.Kernel[2]), (c.Stride, c.Stride, c.Stride), (c.Padding, c.Padding, c.Padding),
                (c.OutputPadding, c.OutputPadding, c.OutputPadding), (c.Dilation, c.Dilation, c.Dilation), groups: c.Groups, bias: c.Bias),
        };
        conv.to(dtype);
        using (no_grad())
        {
            using var w = TestTensors.Randn(conv.weight!.shape, seed, dtype);
            conv.weight!.copy_(w);
            if (conv.bias is { } bias)
            {
                using var b = TestTensors.Randn(bias.shape, seed + 100, dtype);
                bias.copy_(b);
            }
        }
        return conv;
    }

    private static Tensor Input(Case c, long seed, ScalarType dtype = ScalarType.Float32)
    {
        long spatial = c.Dims == 3 ? 4 : 6;
        return TestTensors.Randn(new long[] { 2, c.In }.Concat(Enumerable.Repeat(spatial, c.Dims)).ToArray(), seed, dtype);
    }

    /// <summary><c>conv_transpose(x, weight, bias)</c> with the case's geometry, by torch's functional call (independent of the adapter's geometry).</summary>
    internal static Tensor Reference(Case c, Tensor x, Tensor weight, Tensor? bias) => c.Dims switch
    {
        1 => nn.functional.conv_transpose1d(x, weight, bias, c.Stride, c.Padding, c.OutputPadding, c.Dilation, c.Groups),
        2 => nn.functional.conv_transpose2d(x, weight, bias, new[] { c.Stride, c.Stride }, new[] { c.Padding, c.Padding },
            new[] { c.OutputPadding, c.OutputPadding }, new[] { c.Dilation, c.Dilation }, c.Groups),
        _ => nn.functional.conv_transpose3d(x, weight, bias, new[] { c.Stride, c.Stride, c.Stride }, new[] { c.Padding, c.Padding, c.Padding },
            new[] { c.OutputPadding, c.OutputPadding, c.OutputPadding }, new[] { c.Dilation, c.Dilation, c.Dilation }, c.Groups),
    };

    /// <summary>
    /// The transposed convolution by its sum definition in double precision:
    /// <c>y[n, g·(out/g) + o, t] = b[·] + Σ_i Σ_k x[n, i, s]·W[i, o, k]</c> over the group's input channels i, where
    /// <c>t = s·stride − padding + k·dilation</c>; the output has <c>(L − 1)·stride − 2·padding + dilation·(K − 1) + output_padding + 1</c> positions.
    /// </summary>
    private static double[,,] SumDefinition1d(Case c, double[,,] x, double[,,] w, double[]? bias)
    {
        int n = x.GetLength(0), inputs = x.GetLength(1), length = x.GetLength(2), perGroupOut = w.GetLength(1), k = w.GetLength(2);
        int groups = (int)c.Groups, inPerGroup = inputs / groups, outputs = groups * perGroupOut;
        int outLength = (int)((length - 1) * c.Stride - 2 * c.Padding + c.Dilation * (k - 1) + c.OutputPadding + 1);
        var y = new double[n, outputs, outLength];
        for (int b = 0; b < n; b++)
        {
            for (int oc = 0; oc < outputs; oc++)
                for (int t = 0; t < outLength; t++)
                    y[b, oc, t] = bias?[oc] ?? 0;
            for (int i = 0; i < inputs; i++)
            {
                int group = i / inPerGroup;
                for (int o = 0; o < perGroupOut; o++)
                    for (int s = 0; s < length; s++)
                        for (int kk = 0; kk < k; kk++)
                        {
                            long t = s * c.Stride - c.Padding + kk * c.Dilation;
                            if (t < 0 || t >= outLength) continue;
                            y[b, group * perGroupOut + o, t] += x[b, i, s] * w[i, o, kk];
                        }
            }
        }
        return y;
    }

    /// <summary><c>G ×0 U0 ×1 U1 ×2 …</c> in float64 by broadcast sums (no einsum, no matmul): each mode's product is an elementwise product summed over the rank axis.</summary>
    internal static Tensor TuckerByBroadcast(Tensor core, IReadOnlyList<Tensor> factors)
    {
        Tensor current = core.to(ScalarType.Float64);
        for (int mode = 0; mode < factors.Count; mode++)
        {
            int modes = (int)current.dim();
            // current [..., r_m, ...] → [..., 1, r_m, ...]; factor [I_m, r_m] → [I_m, r_m, 1, …] aligned at axis mode.
            using var expanded = current.unsqueeze(mode);
            var factorShape = new long[modes + 1 - mode];
            Array.Fill(factorShape, 1L);
            factorShape[0] = factors[mode].shape[0];
            factorShape[1] = factors[mode].shape[1];
            using var factor = factors[mode].to(ScalarType.Float64).reshape(factorShape);
            using var product = expanded.mul(factor);
            var next = product.sum(mode + 1);
            current.Dispose();
            current = next;
        }
        return current;
    }

    /// <summary><c>reshape(B·A)</c> in float64 by a broadcast sum over the rank: B <c>[W0, r]</c>, A <c>[r, W1, k…]</c>.</summary>
    internal static Tensor LowRankByBroadcast(Tensor b, Tensor a)
    {
        long[] aShape = a.shape;
        var bShape = new long[aShape.Length + 1];
        Array.Fill(bShape, 1L);
        bShape[0] = b.shape[0];
        bShape[1] = b.shape[1];
        using var b64 = b.to(ScalarType.Float64).reshape(bShape);           // [W0, r, 1, …]
        using var a64 = a.to(ScalarType.Float64).unsqueeze(0);              // [1, r, W1, k…]
        using var product = b64.mul(a64);
        return product.sum(1);
    }

    /// <summary>DoRA's adapted weight <c>m·W/‖W‖</c> with the norm over each output channel's slice <c>[g, in/g, out/g, k…]</c> (float64).</summary>
    private static Tensor DoraWeight(Tensor adapted, Tensor magnitude, long groups)
    {
        long[] shape = adapted.shape;
        var grouped = new[] { groups, shape[0] / groups }.Concat(shape.Skip(1)).ToArray();
        using var view = adapted.reshape(grouped);
        var axes = new long[] { 1 }.Concat(Enumerable.Range(3, shape.Length - 2).Select(a => (long)a)).ToArray();
        using var norm = view.square().sum(axes, keepdim: true).sqrt().detach();            // [g, 1, out/g, 1…], no gradient (DoRA §4.3)
        using var m = magnitude.to(ScalarType.Float64).reshape(new[] { groups, 1L, shape[1] }.Concat(Enumerable.Repeat(1L, shape.Length - 2)).ToArray());
        using var scaled = view.mul(m).div(norm);
        return scaled.reshape(shape);
    }

    private static FloraLayer CreateFlora(Convolution conv, FloraModelOptions? options = null, FloraTargetOptions? target = null) =>
        (FloraLayer)FloraLayerTypes.CreateAdapter(FloraMethod.Flora, "up", conv, options ?? new FloraModelOptions { Rank = 3, R3 = 2, Scale = 0.7 }, target);

    private static void Randomise(IEnumerable<Parameter> parameters, long seed)
    {
        using (no_grad())
            foreach (var p in parameters)
            {
                using var values = TestTensors.Randn(p.shape, seed++, p.dtype);
                p.copy_(values.mul(0.5));
            }
    }

    private static double Scale(Tensor expected) => expected.abs().max().to(ScalarType.Float64).item<double>();

    [Fact]
    public void The_sum_definition_is_torchs_conv_transpose1d_and_FLoRA_adds_its_explicit_delta()
    {
        using var scope = NewDisposeScope();
        foreach (var c in Cases().Where(c => c.Dims == 1))
        {
            var conv = CreateConv(c);
            var adapter = CreateFlora(conv);
            Randomise(adapter.parameters(), 10);
            adapter.ForwardPath = FloraForwardPath.Factorised;
            var x = Input(c, 5);
            var w0 = conv.weight!.to(ScalarType.Float64);
            var delta = TuckerByBroadcast(adapter.Core, adapter.Factors).mul(adapter.Config.Scale);
            var w = w0.add(delta);
            double[]? bias = conv.bias?.to(ScalarType.Float64).data<double>().ToArray();
            double[,,] expected = SumDefinition1d(c, ToArray3(x.to(ScalarType.Float64)), ToArray3(w), bias);
            double[,,] baseExpected = SumDefinition1d(c, ToArray3(x.to(ScalarType.Float64)), ToArray3(w0), bias);

            var baseActual = conv.forward(x);
            var actual = adapter.forward(x);
            TestTensors.AssertClose(FromArray3(baseExpected), baseActual, 1e-5, 1e-5, c.Name + " base");
            TestTensors.AssertClose(FromArray3(expected), actual, 1e-5, 1e-5, c.Name + " FLoRA");
        }
    }

    private static double[,,] ToArray3(Tensor t)
    {
        long[] s = t.shape;
        var values = t.contiguous().data<double>().ToArray();
        var result = new double[s[0], s[1], s[2]];
        Buffer.BlockCopy(values, 0, result, 0, values.Length * sizeof(double));
        return result;
    }

    private static Tensor FromArray3(double[,,] a)
    {
        var flat = new double[a.Length];
        Buffer.BlockCopy(a, 0, flat, 0, flat.Length * sizeof(double));
        return tensor(flat).reshape(a.GetLength(0), a.GetLength(1), a.GetLength(2));
    }

    [Theory]
    [MemberData(nameof(Grid))]
    public void FLoRA_equals_conv_transpose_with_W0_plus_the_explicit_delta(Case c, FloraForwardPath path, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var conv = CreateConv(c, dtype);
        var adapter = CreateFlora(conv);
        Assert.IsAssignableFrom<FloraConvolutionTranspose>(adapter);
        Assert.Equal(conv.weight!.shape, adapter.Config.WeightShape);
        Randomise(adapter.parameters(), 20);
        adapter.ForwardPath = path;
        var x = Input(c, 7, dtype);

        var actual = adapter.forward(x);
        Assert.Equal(path, adapter.LastPath);

        var delta = TuckerByBroadcast(adapter.Core, adapter.Factors).mul(adapter.Config.Scale);
        bool low = dtype == ScalarType.BFloat16; // Delta() comes back in the base weight's dtype
        TestTensors.AssertClose(delta, adapter.Delta(), low ? 1e-2 : 1e-5, low ? 1e-2 * Scale(delta) : 1e-6, c.Name + " Delta()");
        var weight = conv.weight!.to(ScalarType.Float64).add(delta);
        var expected = Reference(c, x.to(ScalarType.Float64), weight, conv.bias?.to(ScalarType.Float64));
        double rtol = dtype == ScalarType.BFloat16 ? 3e-2 : 1e-5, atol = dtype == ScalarType.BFloat16 ? 3e-2 * Scale(expected) : 1e-5;
        TestTensors.AssertClose(expected, actual, rtol, atol, $"{c.Name} {path} {dtype}");
    }

    [Theory]
    [MemberData(nameof(Grid))]
    public void LoRA_and_DoRA_equal_conv_transpose_with_their_explicit_weights(Case c, FloraForwardPath path, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        bool low = dtype == ScalarType.BFloat16;
        foreach (bool dora in new[] { false, true })
        {
            var conv = CreateConv(c, dtype);
            var adapter = (LoraLayer)FloraLayerTypes.CreateAdapter(dora ? FloraMethod.Dora : FloraMethod.Lora, "up", conv, new FloraModelOptions { LoraRank = 2, LoraAlpha = 3 });
            Assert.Equal(new long[] { conv.weight!.shape[0], 2 }, adapter.LoraB.shape);
            Assert.Equal(new long[] { 2 }.Concat(conv.weight!.shape.Skip(1)).ToArray(), adapter.LoraA.shape);
            if (dora) Assert.Equal(new long[] { c.Out }, ((DoraLayer)adapter).Magnitude.shape);
            Randomise(adapter.parameters(), 30);
            if (dora)
                using (no_grad())
                    ((DoraLayer)adapter).Magnitude.abs_().add_(0.5);
            adapter.ForwardPath = path;
            var x = Input(c, 8, dtype);
            var actual = adapter.forward(x);

            var delta = LowRankByBroadcast(adapter.LoraB, adapter.LoraA).mul(adapter.Config.Scale);
            TestTensors.AssertClose(delta, adapter.Delta(), low ? 1e-2 : 1e-5, low ? 1e-2 * Scale(delta) : 1e-6, c.Name + " Delta()");
            var weight = conv.weight!.to(ScalarType.Float64).add(delta);
            if (dora) weight = DoraWeight(weight, ((DoraLayer)adapter).Magnitude, c.Groups);
            var expected = Reference(c, x.to(ScalarType.Float64), weight, conv.bias?.to(ScalarType.Float64));
            TestTensors.AssertClose(expected, actual, low ? 3e-2 : 1e-5, low ? 3e-2 * Scale(expected) : 1e-5, $"{c.Name} {(dora ? "DoRA" : "LoRA")} {path} {dtype}");
        }
    }

    [Theory]
    [MemberData(nameof(Float32Grid))]
    public void Gradients_equal_the_float64_formulations_autograd(Case c, FloraForwardPath path)
    {
        using var scope = NewDisposeScope();
        var conv = CreateConv(c);
        var adapter = CreateFlora(conv);
        Randomise(adapter.parameters(), 40);
        adapter.ForwardPath = path;
        var x = Input(c, 9);
        var y = adapter.forward(x);
        var probe = TestTensors.Randn(y.shape, 11);
        y.mul(probe).sum().backward();

        var core = adapter.Core.detach().to(ScalarType.Float64).requires_grad_();
        var factors = adapter.Factors.Select(f => f.detach().to(ScalarType.Float64).requires_grad_()).ToArray();
        var weight = conv.weight!.detach().to(ScalarType.Float64).add(TuckerByBroadcast(core, factors).mul(adapter.Config.Scale));
        var expected = Reference(c, x.to(ScalarType.Float64), weight, conv.bias?.detach().to(ScalarType.Float64));
        expected.mul(probe.to(ScalarType.Float64)).sum().backward();

        TestTensors.AssertClose(core.grad!, adapter.Core.grad!, 1e-4, 1e-4, c.Name + " core grad");
        for (int m = 0; m < factors.Length; m++)
            TestTensors.AssertClose(factors[m].grad!, adapter.Factor(m).grad!, 1e-4, 1e-4, $"{c.Name} factor {m} grad");
    }

    [Theory]
    [MemberData(nameof(Float32Grid))]
    public void LoRA_and_DoRA_gradients_equal_the_float64_formulations_autograd(Case c, FloraForwardPath path)
    {
        using var scope = NewDisposeScope();
        foreach (bool dora in new[] { false, true })
        {
            var conv = CreateConv(c);
            var adapter = (LoraLayer)FloraLayerTypes.CreateAdapter(dora ? FloraMethod.Dora : FloraMethod.Lora, "up", conv, new FloraModelOptions { LoraRank = 2, LoraAlpha = 3 });
            foreach (var p in conv.parameters()) p.requires_grad_(false);
            Randomise(adapter.parameters().Where(p => p.requires_grad), 50);
            adapter.ForwardPath = path;
            var x = Input(c, 12);
            var y = adapter.forward(x);
            var probe = TestTensors.Randn(y.shape, 13);
            y.mul(probe).sum().backward();

            var a = adapter.LoraA.detach().to(ScalarType.Float64).requires_grad_();
            var b = adapter.LoraB.detach().to(ScalarType.Float64).requires_grad_();
            var m = dora ? ((DoraLayer)adapter).Magnitude.detach().to(ScalarType.Float64).requires_grad_() : null;
            var weight = conv.weight!.detach().to(ScalarType.Float64).add(LowRankByBroadcast(b, a).mul(adapter.Config.Scale));
            if (m is not null) weight = DoraWeight(weight, m, c.Groups);
            var expected = Reference(c, x.to(ScalarType.Float64), weight, conv.bias?.detach().to(ScalarType.Float64));
            expected.mul(probe.to(ScalarType.Float64)).sum().backward();

            string what = $"{c.Name} {(dora ? "DoRA" : "LoRA")} {path}";
            TestTensors.AssertClose(a.grad!, adapter.LoraA.grad!, 1e-4, 1e-4, what + " lora_A grad");
            TestTensors.AssertClose(b.grad!, adapter.LoraB.grad!, 1e-4, 1e-4, what + " lora_B grad");
            if (m is not null) TestTensors.AssertClose(m.grad!, ((DoraLayer)adapter).Magnitude.grad!, 1e-4, 1e-4, what + " magnitude grad");
        }
    }

    [Fact]
    public void Ranks_follow_the_weights_mode_order_in_is_mode_0()
    {
        var c = new Case("2d", 2, 8, 12, new long[] { 3, 3 }, 2, 1, 1, 1, 2, true);
        using var conv = CreateConv(c);
        using var adapter = CreateFlora(conv, new FloraModelOptions { Rank = 4, R3 = 2 }, new FloraTargetOptions { InRank = 3, OutRank = 5 });
        Assert.Equal(new long[] { 8, 6, 3, 3 }, adapter.Config.WeightShape);
        Assert.Equal(new[] { 3, 5, 2, 2 }, adapter.Config.Ranks);
        Assert.Equal(3 * 5 * 2 * 2 + 8 * 3 + 6 * 5 + 3 * 2 + 3 * 2, adapter.TrainableParameters);
        Assert.Equal(new long[] { 8, 3 }, adapter.Factor(0).shape);
        Assert.Equal(new long[] { 6, 5 }, adapter.Factor(1).shape);
        // The file keys name the modes by what they are: mode 0 holds the input channels.
        var keys = adapter.named_parameters().Select(p => p.name).Where(n => n.StartsWith("factor.")).ToArray();
        Assert.Equal(new[] { "factor.in", "factor.out", "factor.k0", "factor.k1" }, keys);
    }

    [Fact]
    public void LoRA_and_DoRA_budgets_are_matched_and_counted_in_the_transposed_matrix_view()
    {
        var c = new Case("2d", 2, 8, 12, new long[] { 3, 3 }, 2, 1, 1, 1, 2, true);
        var options = new FloraModelOptions { Rank = 4, R3 = 2 };
        using var flora = CreateFlora(CreateConv(c), options); // an adapter owns (and disposes) its base layer
        long budget = flora.TrainableParameters;
        foreach (bool dora in new[] { false, true })
        {
            using var lora = (LoraLayer)FloraLayerTypes.CreateAdapter(dora ? FloraMethod.Dora : FloraMethod.Lora, "up", CreateConv(c), options);
            long perRank = 8 + 6 * 3 * 3, extra = dora ? 12 : 0;        // r·(in + (out/g)·Πk), DoRA + out
            Assert.Equal(lora.Config.Rank * perRank + extra, lora.TrainableParameters);
            Assert.Equal(lora.TrainableParameters, lora.LoraA.numel() + lora.LoraB.numel() + (dora ? ((DoraLayer)lora).Magnitude.numel() : 0));
            long best = Enumerable.Range(1, 8).Select(r => System.Math.Abs(r * perRank + extra - budget)).Min();
            Assert.Equal(best, System.Math.Abs(lora.TrainableParameters - budget));
        }
    }

    /// <summary>A small decoder: a convolution down, a transposed convolution up (stride 2, output padding 1), and a grouped 1d-free head.</summary>
    private sealed class Decoder : nn.Module<Tensor, Tensor>
    {
        private readonly Conv2d down = nn.Conv2d(3, 8, 3, stride: 2, padding: 1);
        private readonly ConvTranspose2d up = nn.ConvTranspose2d(8, 4, 3, stride: 2, padding: 1, output_padding: 1, groups: 2);

        public Decoder() : base(nameof(Decoder))
        {
            RegisterComponents();
            long seed = 50;
            using (no_grad())
                foreach (var p in parameters())
                {
                    using var values = TestTensors.Randn(p.shape, seed++);
                    p.copy_(values);
                }
        }

        public override Tensor forward(Tensor x)
        {
            using var h = down.call(x);
            return up.call(h);
        }
    }

    [Theory]
    [InlineData(FloraMethod.Flora)]
    [InlineData(FloraMethod.Lora)]
    [InlineData(FloraMethod.Dora)]
    [InlineData(FloraMethod.BitFit)]
    [InlineData(FloraMethod.AdaLora)]
    [InlineData(FloraMethod.Houlsby)]
    [InlineData(FloraMethod.Pfeiffer)]
    public void Attach_by_name_merges_saves_loads_disables_and_detaches(FloraMethod method)
    {
        using var scope = NewDisposeScope();
        using var model = new Decoder();
        var before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        var x = TestTensors.Randn(new long[] { 2, 3, 8, 8 }, 60);
        var baseOutput = model.forward(x);
        Assert.Equal(new long[] { 2, 4, 8, 8 }, baseOutput.shape);

        var attachment = FloraInjector.Attach(model, new FloraConfig { TargetModules = new[] { "down", "up" } }, method);
        // Pfeiffer puts one bottleneck after the last target of a block: here the transposed convolution.
        Assert.Equal(method == FloraMethod.Pfeiffer ? new[] { "up" } : new[] { "down", "up" }, attachment.Adapters.Select(a => a.Name));
        if (method == FloraMethod.Flora) Assert.IsType<FloraConvTranspose2d>(attachment["up"]);
        TestTensors.AssertClose(baseOutput, model.forward(x), 1e-6, 1e-6, "starts equal to the base");
        Randomise(attachment.Parameters(), 70);
        var adapted = model.forward(x);
        Assert.True(adapted.sub(baseOutput).abs().max().item<float>() > 1e-3, "the adapter changes the output");

        using (attachment.Disable()) TestTensors.AssertClose(baseOutput, model.forward(x), 1e-6, 1e-6, "disabled");

        string path = Path.Combine(Path.GetTempPath(), $"transposed-{method}-{Guid.NewGuid():N}.flora.safetensors");
        try
        {
            attachment.Save(path);
            attachment.Detach();
            foreach (var (key, value) in model.state_dict()) TestTensors.AssertBitEqual(before[key], value, "detached " + key);
            TestTensors.AssertBitEqual(baseOutput, model.forward(x), "detached output");

            var loaded = FloraInjector.AttachFromFile(model, path);
            TestTensors.AssertClose(adapted, model.forward(x), 1e-6, 1e-6, "loaded from the file");
            if (method is not (FloraMethod.Houlsby or FloraMethod.Pfeiffer))
            {
                loaded.Merge();
                TestTensors.AssertClose(adapted, model.forward(x), 1e-5, 1e-5, "merged");
                loaded.Unmerge();
                TestTensors.AssertClose(adapted, model.forward(x), 1e-5, 1e-5, "unmerged");
            }
            loaded.Detach();
            foreach (var (key, value) in model.state_dict()) TestTensors.AssertClose(before[key], value, 1e-5, 1e-5, "after merge, unmerge and detach " + key);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void SavePeft_refuses_a_transposed_convolution_naming_it()
    {
        using var model = new Decoder();
        var attachment = FloraInjector.Attach(model, new FloraConfig { TargetModules = new[] { "up" } }, FloraMethod.Lora);
        string directory = Path.Combine(Path.GetTempPath(), "transposed-peft-" + Guid.NewGuid().ToString("N"));
        var error = Assert.Throws<InvalidOperationException>(() => attachment.SavePeft(directory));
        Assert.Contains("'up' is a ConvTranspose2d", error.Message);
        Assert.Contains("PEFT has no LoRA layer for transposed convolutions", error.Message);
        Assert.False(Directory.Exists(directory) && Directory.EnumerateFiles(directory).Any());
        attachment.Detach();
    }

    [Fact]
    public void LayerGeometry_Convolution_describes_a_transposed_convolution_by_its_output_channels()
    {
        var c = new Case("1d", 1, 4, 6, new long[] { 3 }, 2, 1, 1, 1, 2, true);
        using var conv = CreateConv(c);
        var geometry = LayerGeometry.Convolution(conv);
        Assert.IsType<TransposedConvolutionGeometry>(geometry);
        Assert.Equal(6, geometry.OutChannels);
        Assert.Equal(new long[] { 6, 1 }, geometry.OutputChannelShape);
    }
}
