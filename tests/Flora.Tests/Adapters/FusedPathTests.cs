using Flora.Tests.Baselines;
using Flora.Tests.Injection;
using TorchSharp.Modules;

namespace Flora.Tests.Adapters;

/// <summary>
/// The fused path (one layer call with <c>W0 + ΔW</c> in place of the base layer's) against the factorised path in whole
/// models: same outputs and same gradients for every method and every kind of slot — members that keep the base layer
/// and reach the adapter through hooks (the base layer then runs on an empty batch), a Sequential and a ModuleList that
/// hold the wrapper — and the cases where the fused path cannot run and a fallback must.
/// </summary>
[Collection(GlobalSeedCollection.Name)]
public class FusedPathTests
{
    public static TheoryData<FloraMethod> DeltaMethods() => new() { FloraMethod.Flora, FloraMethod.Lora, FloraMethod.Dora };

    [Theory]
    [MemberData(nameof(DeltaMethods))]
    public void Every_slot_gives_the_factorised_paths_output_and_gradients(FloraMethod method)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(21);
        var model = new TinyNet();
        var attachment = FloraInjector.Attach(model, TinyNet.Config(), method);
        var adapters = attachment.Adapters.Cast<DeltaAdapterLayer>().ToArray();
        for (int i = 0; i < adapters.Length; i++) BaselineTensors.Randomise(adapters[i], seed: 30 + i);
        var x = TestTensors.Randn(new long[] { 3, 3, 10, 10 }, seed: 22).requires_grad_(true);
        var weights = TestTensors.Randn(new long[] { 3, 10 }, seed: 23);

        (Tensor Output, Tensor[] Gradients) Run(FloraForwardPath path)
        {
            foreach (var adapter in adapters) adapter.ForwardPath = path;
            x.grad = null;
            foreach (var tensor in attachment.Parameters()) tensor.grad = null;
            var output = model.forward(x);
            (output * weights).sum().backward();
            foreach (var adapter in adapters) Assert.Equal(path, adapter.LastPath);
            var gradients = attachment.Parameters().Select(p => p.grad!.clone()).Append(x.grad!.clone()).ToArray();
            return (output.detach(), gradients);
        }

        var (factorised, factorisedGradients) = Run(FloraForwardPath.Factorised);
        var (fused, fusedGradients) = Run(FloraForwardPath.Fused);
        TestTensors.AssertClose(factorised, fused, 1e-4, 1e-5, $"{method} output");
        for (int i = 0; i < fusedGradients.Length; i++)
        {
            double atol = 1e-5 * System.Math.Max(1.0, factorisedGradients[i].abs().max().item<float>());
            TestTensors.AssertClose(factorisedGradients[i], fusedGradients[i], 1e-3, atol, $"{method} gradient {i}");
        }
        Assert.All(model.parameters().Where(p => !attachment.Parameters().Any(a => ReferenceEquals(a, p))), p => Assert.Null(p.grad));
    }

    [Fact]
    public void A_hook_bound_member_without_hooks_of_its_own_runs_fused_and_its_base_layer_sees_an_empty_batch()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TinyNet();
        var attachment = FloraInjector.Attach(model, TinyNet.Config(new FloraModelOptions { Rank = 4, R3 = 2, ForwardPath = FloraForwardPath.Fused }));
        var conv1 = attachment.GetFlora<FloraConv2d>("conv1");
        TestTensors.RandomiseCore(conv1, seed: 24);
        var x = TestTensors.Randn(new long[] { 2, 3, 10, 10 }, seed: 25);

        var adapted = model.Conv1.call(x);
        Assert.Equal(FloraForwardPath.Fused, conv1.LastPath);
        var expected = nn.functional.conv2d(x, model.Conv1.weight + conv1.Delta(), model.Conv1.bias, padding: new long[] { 1, 1 });
        TestTensors.AssertClose(expected, adapted, 1e-5, 1e-5, "conv1 fused through its hooks");
        attachment.Merge();
        TestTensors.AssertClose(expected, model.Conv1.call(x), 1e-5, 1e-5, "conv1 merged");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_users_hook_that_changes_the_output_keeps_its_effect_on_the_fused_path(bool registeredBeforeAttach)
    {
        // A hook of the user's own on the base layer sees the real batch and its change to the output counts: with hooks
        // besides the adapter's, the layer runs unfused (base output, the user's hooks, then the update added).
        using var scope = torch.NewDisposeScope();
        var model = new TinyNet();
        var seen = new List<long[]>();
        Tensor Doubling(nn.Module _, Tensor input, Tensor output)
        {
            seen.Add(input.shape);
            return output * 2;
        }
        if (registeredBeforeAttach) model.Conv1.register_forward_hook(Doubling);
        var attachment = FloraInjector.Attach(model, TinyNet.Config(new FloraModelOptions { Rank = 4, R3 = 2, ForwardPath = FloraForwardPath.Fused }));
        if (!registeredBeforeAttach) model.Conv1.register_forward_hook(Doubling);
        var conv1 = attachment.GetFlora<FloraConv2d>("conv1");
        TestTensors.RandomiseCore(conv1, seed: 24);
        var x = TestTensors.Randn(new long[] { 2, 3, 10, 10 }, seed: 25);

        var adapted = model.Conv1.call(x);
        Assert.NotEqual(FloraForwardPath.Fused, conv1.LastPath);
        Assert.Equal(new long[] { 2, 3, 10, 10 }, seen.Single());
        var baseOutput = nn.functional.conv2d(x, model.Conv1.weight, model.Conv1.bias, padding: new long[] { 1, 1 });
        var update = nn.functional.conv2d(x, conv1.Delta(), padding: new long[] { 1, 1 });
        var expected = registeredBeforeAttach ? baseOutput * 2 + update : (baseOutput + update) * 2;
        TestTensors.AssertClose(expected, adapted, 1e-5, 1e-5, "the user's doubling kept");
    }

    [Fact]
    public void An_input_without_a_batch_axis_runs_the_base_layer_and_an_unfused_path()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TinyNet();
        var attachment = FloraInjector.Attach(model, TinyNet.Config(new FloraModelOptions { Rank = 4, R3 = 2, ForwardPath = FloraForwardPath.Fused }));
        var conv1 = attachment.GetFlora<FloraConv2d>("conv1");
        TestTensors.RandomiseCore(conv1, seed: 26);
        var x = TestTensors.Randn(new long[] { 3, 10, 10 }, seed: 27); // [C, H, W]: TorchSharp's unbatched convolution

        var adapted = model.Conv1.call(x);
        Assert.NotEqual(FloraForwardPath.Fused, conv1.LastPath);
        var expected = nn.functional.conv2d(x.unsqueeze(0), model.Conv1.weight + conv1.Delta(), model.Conv1.bias, padding: new long[] { 1, 1 }).squeeze(0);
        TestTensors.AssertClose(expected, adapted, 1e-5, 1e-5, "unbatched conv1");
    }

    [Fact]
    public void Padding_modes_survive_the_empty_batch_stand_in()
    {
        using var scope = torch.NewDisposeScope();
        foreach (var mode in new[] { PaddingModes.Reflect, PaddingModes.Replicate, PaddingModes.Circular })
        {
            var holder = new ConvHolder(nn.Conv2d(4, 6, 3, padding: 1, padding_mode: mode));
            var attachment = FloraInjector.Attach(holder, new FloraConfig { TargetModules = new[] { "conv" }, Defaults = new FloraModelOptions { ForwardPath = FloraForwardPath.Fused } });
            var adapter = attachment.GetFlora<FloraConv2d>("conv");
            TestTensors.RandomiseCore(adapter, seed: 28);
            var x = TestTensors.Randn(new long[] { 2, 4, 7, 7 }, seed: 29);
            var adapted = holder.forward(x);
            Assert.Equal(FloraForwardPath.Fused, adapter.LastPath);
            Tensor expected;
            using (torch.no_grad())
            {
                holder.Conv.weight.add_(adapter.Delta());
                expected = holder.Conv.forward(x);
                holder.Conv.weight.sub_(adapter.Delta());
            }
            TestTensors.AssertClose(expected, adapted, 1e-5, 1e-5, mode.ToString());
        }
    }

    [Fact]
    public void Adapter_dropout_rules_out_the_fused_path_while_training_only()
    {
        using var scope = torch.NewDisposeScope();
        var conv = nn.Conv2d(4, 6, 3, padding: 1);
        var config = FloraLayerConfig.Resolve("conv", conv.weight.shape, new FloraModelOptions { Dropout = 0.2, ForwardPath = FloraForwardPath.Fused }, FloraTargetOptions.Inherit);
        var adapter = new FloraConv2d("conv", conv, config);
        var x = TestTensors.Randn(new long[] { 2, 4, 8, 8 }, seed: 31);
        adapter.train();
        adapter.forward(x);
        Assert.NotEqual(FloraForwardPath.Fused, adapter.LastPath);
        adapter.eval();
        adapter.forward(x);
        Assert.Equal(FloraForwardPath.Fused, adapter.LastPath);
    }

    [Fact]
    public void The_cost_model_picks_by_device_and_the_fused_path_never_costs_more_than_the_materialised_one()
    {
        using var scope = torch.NewDisposeScope();
        var options = new FloraModelOptions { Rank = 8, R3 = 2 };
        FloraConv2d Conv(long channels, long kernel, long groups)
        {
            var conv = nn.Conv2d(channels, channels, kernel, padding: kernel / 2, groups: groups);
            return new FloraConv2d("conv", conv, FloraLayerConfig.Resolve("conv", conv.weight.shape, options, FloraTargetOptions.Inherit));
        }
        var dense = Conv(128, 3, 1);
        var depthwise = Conv(128, 7, 128);
        var cpu = FloraCostContext.TrainingStep(DeviceType.CPU, ScalarType.Float32);
        var gpu = FloraCostContext.TrainingStep(DeviceType.CUDA, ScalarType.BFloat16);

        // The CPU shapes of docs/BENCHMARKS.md (batch 8): factorised measured fastest on the dense convolution; never on depthwise.
        Assert.Equal(FloraForwardPath.Factorised, dense.EstimateCost(new long[] { 8, 128, 14, 14 }, cpu).Cheapest());
        Assert.NotEqual(FloraForwardPath.Factorised, depthwise.EstimateCost(new long[] { 8, 128, 14, 14 }, cpu).Cheapest());
        // ConvNeXt-T shapes on a GPU in bfloat16 (batch 64): the fused layer call beats passes over the activation.
        Assert.Equal(FloraForwardPath.Fused, dense.EstimateCost(new long[] { 64, 128, 56, 56 }, gpu).Cheapest());
        Assert.Equal(FloraForwardPath.Fused, depthwise.EstimateCost(new long[] { 64, 128, 56, 56 }, gpu).Cheapest());
        // Where the base layer has run already, the fused path is not on offer.
        Assert.Equal(FloraForwardPath.Materialised, depthwise.EstimateCost(new long[] { 8, 128, 14, 14 }, cpu).Cheapest(fusedAvailable: false));

        // The fused path runs the materialised path's second layer instead of the base layer and adds W0 to ΔW instead of
        // adding two outputs: cheaper wherever the activations outweigh the weight, in training and in inference, on every device.
        var contexts = new[]
        {
            cpu, gpu, FloraCostContext.TrainingStep(DeviceType.CUDA, ScalarType.Float32),
            new FloraCostContext(FloraDeviceProfile.Cpu, 4, Training: false, InputRequiresGrad: false),
            new FloraCostContext(FloraDeviceProfile.CudaHalf, 2, Training: true, InputRequiresGrad: false),
        };
        foreach (var adapter in new[] { dense, depthwise })
            foreach (var shape in new[] { new long[] { 8, 128, 14, 14 }, new long[] { 64, 128, 56, 56 } })
                foreach (var context in contexts)
                {
                    var estimate = adapter.EstimateCost(shape, context);
                    Assert.True(estimate.Fused <= estimate.Materialised, $"{context.Device.Name} {string.Join("×", shape)}: fused {estimate.Fused} > materialised {estimate.Materialised}");
                    Assert.True(estimate.Factorised > 0 && estimate.Fused > 0);
                }

        // Auto follows the estimate per call: forward may fuse; Adapt (the base output given) may not.
        var x = TestTensors.Randn(new long[] { 8, 128, 14, 14 }, seed: 32);
        dense.forward(x);
        Assert.Equal(FloraForwardPath.Factorised, dense.LastPath);
        depthwise.forward(x);
        Assert.Equal(FloraForwardPath.Fused, depthwise.LastPath);
        depthwise.Adapt(x, depthwise.BaseLayer.forward(x));
        Assert.Equal(FloraForwardPath.Materialised, depthwise.LastPath);
    }

    [Fact]
    public void A_linear_prices_rows_the_factorised_chain_against_one_full_product()
    {
        var cpu = FloraCostContext.TrainingStep(DeviceType.CPU, ScalarType.Float32);
        var lowRank = FloraLayerConfig.Resolve("fc", new long[] { 1024, 256 }, new FloraModelOptions { Rank = 8 }, FloraTargetOptions.Inherit);
        Assert.Equal(FloraForwardPath.Factorised, FloraCostModel.Estimate(lowRank, 1, batch: 1568, 1, 1, cpu).Cheapest());
        // At full rank on a tiny layer the chain's three products (and their gradients) cost more kernels than one product.
        var fullRank = FloraLayerConfig.Resolve("fc", new long[] { 16, 16 }, new FloraModelOptions { Rank = 16 }, FloraTargetOptions.Inherit);
        Assert.NotEqual(FloraForwardPath.Factorised, FloraCostModel.Estimate(fullRank, 1, batch: 4, 1, 1, cpu).Cheapest());
    }

    /// <summary>A module with one hook-bound convolution member.</summary>
    private sealed class ConvHolder : nn.Module<Tensor, Tensor>
    {
        private readonly Conv2d conv;

        public ConvHolder(Conv2d conv) : base(nameof(ConvHolder))
        {
            this.conv = conv;
            RegisterComponents();
        }

        public Conv2d Conv => conv;

        public override Tensor forward(Tensor x) => conv.call(x);
    }
}
