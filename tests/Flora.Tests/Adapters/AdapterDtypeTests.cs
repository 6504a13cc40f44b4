using Flora.Tests.Baselines;
using System.IO;
using TorchSharp.Modules;

namespace Flora.Tests.Adapters;

/// <summary>
/// Adapter tensors beside a bfloat16 base layer are float32 by default (<see cref="FloraModelOptions.AutocastAdapterDtype"/>,
/// PEFT's <c>autocast_adapter_dtype</c>): the update is computed in float32 and rounded once, with the base output, to
/// bfloat16; the optimizer's steps are not rounded away. Checked against an independent float64 formulation and against
/// the same adapters kept in bfloat16.
/// </summary>
[Collection(GlobalSeedCollection.Name)]
public class AdapterDtypeTests
{
    private static readonly LoraLayerConfig Lora = new() { Rank = 3, Alpha = 5 };

    private static Conv2d BFloat16Conv(long seed)
    {
        manual_seed(seed);
        var conv = nn.Conv2d(8, 12, 3, padding: 1);
        conv.to(ScalarType.BFloat16);
        return conv;
    }

    private static FloraConv2d Flora(Conv2d conv, bool autocast = true) =>
        new("conv", conv, FloraLayerConfig.Resolve("conv", conv.weight!.shape, new FloraModelOptions { Rank = 4, R3 = 2, Scale = 0.4, AutocastAdapterDtype = autocast }, FloraTargetOptions.Inherit));

    public static TheoryData<string, FloraForwardPath> MethodsAndPaths() => new()
    {
        { "flora", FloraForwardPath.Factorised }, { "flora", FloraForwardPath.Materialised },
        { "lora", FloraForwardPath.Factorised }, { "lora", FloraForwardPath.Materialised },
        { "dora", FloraForwardPath.Factorised }, { "dora", FloraForwardPath.Materialised },
    };

    private static DeltaAdapterLayer Create(string method, Conv2d conv) => method switch
    {
        "flora" => Flora(conv),
        "lora" => new LoraConv2d("conv", conv, Lora),
        _ => new DoraConv2d("conv", conv, Lora),
    };

    [Theory]
    [MemberData(nameof(MethodsAndPaths))]
    public void Adapter_tensors_of_a_bfloat16_layer_are_float32_and_delta_is_in_the_base_dtype(string method, FloraForwardPath path)
    {
        using var scope = NewDisposeScope();
        var conv = BFloat16Conv(1);
        var adapter = Create(method, conv);
        adapter.ForwardPath = path;
        Assert.All(adapter.AdapterTensors, t => Assert.Equal(ScalarType.Float32, t.Tensor.dtype));
        Assert.Equal(ScalarType.BFloat16, adapter.Delta().dtype);
        Assert.Equal(conv.weight!.shape, adapter.Delta().shape);

        // At initialisation the adapted layer is the base layer, bit for bit, in bfloat16.
        var x = TestTensors.Randn(new long[] { 2, 8, 9, 9 }, seed: 2, ScalarType.BFloat16);
        var y = adapter.forward(x);
        Assert.Equal(ScalarType.BFloat16, y.dtype);
        TestTensors.AssertBitEqual(conv.forward(x), y, $"{method} {path} at initialisation");
    }

    [Theory]
    [InlineData("flora")]
    [InlineData("lora")]
    public void The_update_is_computed_in_float32_and_rounded_once_with_the_base_output(string method)
    {
        using var scope = NewDisposeScope();
        var conv = BFloat16Conv(3);
        var adapter = Create(method, conv);
        BaselineTensors.Randomise(adapter, seed: 4);
        var x = TestTensors.Randn(new long[] { 2, 8, 9, 9 }, seed: 5, ScalarType.BFloat16);

        // Independent: ΔW in float64 from the float32 tensors (Tucker product or Σ_p B·A), a float64 convolution of the
        // input, added to the bfloat16 base output in float64, rounded once to bfloat16.
        using var x64 = x.to(ScalarType.Float64);
        Tensor delta64 = adapter is FloraLayer flora
            ? Tucker.Reconstruct(flora.Core.detach().to(ScalarType.Float64), flora.Factors.Select(f => f.detach().to(ScalarType.Float64)).ToArray()) * 0.4
            : BaselineTensors.ExplicitDelta(((LoraLayer)adapter).LoraA, ((LoraLayer)adapter).LoraB, 5.0 / 3, conv.weight!.shape);
        using var update64 = nn.functional.conv2d(x64, delta64, padding: new long[] { 1, 1 });
        using var expected = (conv.forward(x).to(ScalarType.Float64) + update64).to(ScalarType.BFloat16);

        foreach (var path in new[] { FloraForwardPath.Factorised, FloraForwardPath.Materialised })
        {
            adapter.ForwardPath = path;
            using var actual = adapter.forward(x);
            Assert.Equal(ScalarType.BFloat16, actual.dtype);
            // Float32 against float64 arithmetic: at most one bfloat16 step apart where a sum sits at a rounding boundary.
            using var step = expected.to(ScalarType.Float64).abs() * System.Math.Pow(2, -7) + 1e-30;
            using var gap = (actual.to(ScalarType.Float64) - expected.to(ScalarType.Float64)).abs();
            Assert.True(gap.le(step).all().item<bool>(), $"{method} {path}: an output is more than one bfloat16 step from the float64 formulation");
            double exact = gap.eq(0).to(ScalarType.Float64).mean().item<double>();
            Assert.True(exact > 0.95, $"{method} {path}: only {exact:P1} of the outputs equal the float64 formulation rounded once");
        }
    }

    [Fact]
    public void An_optimizer_step_below_bfloat16_resolution_moves_float32_adapter_tensors_and_is_lost_in_bfloat16_ones()
    {
        using var scope = NewDisposeScope();
        double Moved(bool autocast)
        {
            var conv = BFloat16Conv(6);
            var adapter = Flora(conv, autocast);
            var factor = adapter.Factor(1);
            using (no_grad())
            {
                // Seeded values of size 0.25…0.5 with random signs (not the global generator, which parallel tests share):
                // a 1e-4 step is then below half a bfloat16 step (2^-9 · 0.25 ≈ 4.9e-4) for every element.
                using var signs = TestTensors.Randn(factor.shape, seed: 12).sign();
                using var sizes = TestTensors.Randn(factor.shape, seed: 13).abs().clamp(0, 1) * 0.25 + 0.25;
                factor.copy_(signs * sizes);
            }
            using var before = factor.detach().clone();
            using var optimizer = new FloraAdamW(adapter.AdapterTensors.Select(t => t.Tensor), learningRate: 1e-4, weightDecay: 0);
            using (no_grad()) adapter.Core.copy_(TestTensors.Randn(adapter.Core.shape, seed: 7)); // gradients reach every factor
            var x = TestTensors.Randn(new long[] { 4, 8, 9, 9 }, seed: 8, ScalarType.BFloat16);
            adapter.forward(x).to(ScalarType.Float32).square().mean().backward();
            optimizer.Step();
            return factor.detach().ne(before).to(ScalarType.Float64).mean().item<double>();
        }

        // AdamW's first step moves every element by about the learning rate, 1e-4: float32 tensors take it,
        // bfloat16 tensors round all of it away.
        Assert.Equal(1.0, Moved(autocast: true));
        Assert.Equal(0.0, Moved(autocast: false));
    }

    [Fact]
    public void Without_autocast_the_adapter_tensors_take_the_base_dtype()
    {
        using var scope = NewDisposeScope();
        var conv = BFloat16Conv(9);
        Assert.All(Flora(conv, autocast: false).AdapterTensors, t => Assert.Equal(ScalarType.BFloat16, t.Tensor.dtype));
        var lora = new LoraConv2d("conv", conv, Lora with { AutocastAdapterDtype = false });
        Assert.All(lora.AdapterTensors, t => Assert.Equal(ScalarType.BFloat16, t.Tensor.dtype));
        var dora = new DoraConv2d("conv", conv, Lora with { AutocastAdapterDtype = false });
        Assert.All(dora.AdapterTensors, t => Assert.Equal(ScalarType.BFloat16, t.Tensor.dtype));
    }

    [Theory]
    [InlineData("flora")]
    [InlineData("lora")]
    [InlineData("dora")]
    public void Fused_merged_and_unfused_agree_in_bfloat16_with_float32_adapters(string method)
    {
        using var scope = NewDisposeScope();
        var conv = BFloat16Conv(10);
        var adapter = Create(method, conv);
        BaselineTensors.Randomise(adapter, seed: 11);
        var x = TestTensors.Randn(new long[] { 2, 8, 9, 9 }, seed: 12, ScalarType.BFloat16);
        adapter.ForwardPath = FloraForwardPath.Factorised;
        var unfused = adapter.forward(x);
        adapter.ForwardPath = FloraForwardPath.Fused;
        var fused = adapter.forward(x);
        Assert.Equal(FloraForwardPath.Fused, adapter.LastPath);
        Assert.Equal(ScalarType.BFloat16, fused.dtype);
        adapter.Merge();
        var merged = adapter.forward(x);
        adapter.Unmerge();
        var (rtol, atol) = BaselineTensors.Tolerance(unfused, ScalarType.BFloat16);
        TestTensors.AssertClose(unfused, fused, rtol, atol, $"{method} fused");
        TestTensors.AssertClose(unfused, merged, rtol, atol, $"{method} merged");
    }

    [Fact]
    public void A_model_converted_to_bfloat16_before_attach_trains_float32_adapters_and_reloads_them_exactly()
    {
        using var scope = NewDisposeScope();
        var model = nn.Sequential(("conv1", nn.Conv2d(3, 8, 3, padding: 1)), ("act", nn.ReLU()), ("conv2", nn.Conv2d(8, 4, 3)));
        model.to(ScalarType.BFloat16);
        var config = new FloraConfig { TargetModules = new[] { "conv1", "conv2" }, Defaults = new FloraModelOptions { Rank = 2, R3 = 1 } };
        var attachment = FloraInjector.Attach(model, config);
        Assert.All(attachment.Parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        foreach (var adapter in attachment.Adapters) BaselineTensors.Randomise(adapter, seed: 13);
        var x = TestTensors.Randn(new long[] { 2, 3, 6, 6 }, seed: 14, ScalarType.BFloat16);
        var y = model.forward(x);
        Assert.Equal(ScalarType.BFloat16, y.dtype);

        string path = Path.Combine(Path.GetTempPath(), $"flora-bf16-{Guid.NewGuid():N}.safetensors");
        try
        {
            attachment.Save(path);
            var saved = Safetensors.Load(path).Tensors;
            Assert.All(saved.Where(t => t.Key.Contains("factor") || t.Key.EndsWith("core")), t => Assert.Equal(ScalarType.Float32, t.Value.dtype));
            var trained = attachment.Parameters().Select(p => p.detach().clone()).ToArray();
            attachment.Detach();

            var fresh = nn.Sequential(("conv1", nn.Conv2d(3, 8, 3, padding: 1)), ("act", nn.ReLU()), ("conv2", nn.Conv2d(8, 4, 3)));
            fresh.to(ScalarType.BFloat16);
            fresh.load_state_dict(model.state_dict());
            var loaded = FloraInjector.AttachFromFile(fresh, path);
            Assert.All(loaded.Parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
            foreach (var (a, b) in trained.Zip(loaded.Parameters())) TestTensors.AssertBitEqual(a, b, "reloaded adapter tensor");
            TestTensors.AssertBitEqual(y, fresh.forward(x), "reloaded output");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
