using Flora.Tests.Baselines;
using TorchSharp.Modules;

namespace Flora.Tests.Adapters;

/// <summary>
/// Adapter groups (<see cref="AdapterGroup"/>): alike adapters build their weights in one batched chain once per forward
/// of the attached model. Grouped runs (the model's <c>call</c>, which opens a forward scope) are checked against the
/// same model run per layer (its <c>forward</c>, which opens none) — outputs, gradients and optimizer steps — for every
/// layer kind, grouped and depthwise convolutions, members of different configurations in one model and bfloat16 with
/// float32 adapter tensors; and the scope's rules: once per forward, a layer called twice, two forwards before one
/// backward, eval and no_grad, dropout, a forward that throws, detach.
/// </summary>
public class AdapterGroupTests
{
    /// <summary>A chain of layers of one kind; alike layers group, the odd ones stay alone or form their own group.</summary>
    private sealed class Chain : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> a, b, c, d, e;
        private readonly Sequential tail;

        public Chain(string kind) : base(nameof(Chain))
        {
            (a, b, c, d, e, tail) = kind switch
            {
                "linear" => (L(), L(), L(), L(), (nn.Module<Tensor, Tensor>)nn.Linear(8, 6), nn.Sequential(("0", nn.Linear(6, 6)), ("1", nn.Linear(6, 6)))),
                "conv1d" => (C1(), C1(), C1(), C1(stride: 2), nn.Conv1d(8, 6, 3, padding: 1), nn.Sequential(("0", nn.Conv1d(6, 6, 5, padding: 2)), ("1", nn.Conv1d(6, 6, 5, padding: 2)))),
                "conv2d" => (C2(), C2(), C2(dilation: 2), C2(stride: 2), nn.Conv2d(8, 6, 3, padding: 1), nn.Sequential(("0", nn.Conv2d(6, 6, (1, 3), padding: (0, 1))), ("1", nn.Conv2d(6, 6, (1, 3), padding: (0, 1))))),
                "grouped" => (C2(groups: 2), C2(groups: 2), C2(groups: 2), C2(groups: 8), nn.Conv2d(8, 6, 3, padding: 1), nn.Sequential(("0", nn.Conv2d(6, 6, 3, padding: 1, groups: 6)), ("1", nn.Conv2d(6, 6, 3, padding: 1, groups: 6)))),
                "conv3d" => (C3(), C3(), C3(), C3(), nn.Conv3d(4, 3, 3, padding: 1), nn.Sequential(("0", nn.Conv3d(3, 3, 3, padding: 1)), ("1", nn.Conv3d(3, 3, 3, padding: 1)))),
                "transposed" => (T2(), T2(), T2(), T2(stride: 2), nn.ConvTranspose2d(8, 6, 3, padding: 1), nn.Sequential(("0", nn.ConvTranspose2d(6, 6, (1, 3), padding: (0, 1))), ("1", nn.ConvTranspose2d(6, 6, (1, 3), padding: (0, 1))))),
                _ => throw new ArgumentException(kind),
            };
            RegisterComponents();
        }

        private static nn.Module<Tensor, Tensor> L() => nn.Linear(8, 8);

        private static nn.Module<Tensor, Tensor> C1(long stride = 1) => nn.Conv1d(8, 8, 3, stride: stride, padding: 1);

        private static nn.Module<Tensor, Tensor> C2(long stride = 1, long dilation = 1, long groups = 1) =>
            nn.Conv2d(8, 8, 3, stride: stride, padding: dilation, dilation: dilation, groups: groups);

        private static nn.Module<Tensor, Tensor> T2(long stride = 1) =>
            nn.ConvTranspose2d(8, 8, 3, stride: stride, padding: 1, output_padding: stride - 1, groups: 2);

        private static nn.Module<Tensor, Tensor> C3() => nn.Conv3d(4, 4, 3, padding: 1);

        public override Tensor forward(Tensor x)
        {
            using var scope = torch.NewDisposeScope(); // what the group builds must outlive a scope inside the forward
            var h = nn.functional.tanh(a.call(x));
            h = nn.functional.tanh(b.call(h)) + h;
            h = nn.functional.tanh(c.call(h)) + h;
            h = nn.functional.tanh(d.call(h));
            return tail.call(e.call(h)).MoveToOuterDisposeScope();
        }

        public static long[] InputShape(string kind) => kind switch
        {
            "linear" => new long[] { 5, 8 },
            "conv1d" => new long[] { 3, 8, 12 },
            "conv3d" => new long[] { 2, 4, 4, 5, 6 },
            _ => new long[] { 3, 8, 9, 10 },
        };
    }

    public static TheoryData<string, FloraForwardPath> KindsAndPaths()
    {
        var data = new TheoryData<string, FloraForwardPath>();
        foreach (var kind in new[] { "linear", "conv1d", "conv2d", "grouped", "conv3d", "transposed" })
            foreach (var path in new[] { FloraForwardPath.Fused, FloraForwardPath.Materialised })
                data.Add(kind, path);
        return data;
    }

    private static FloraConfig Config(FloraForwardPath path, int rankOfD = 4) => new()
    {
        TargetModules = new[] { "a", "b", "c", "d", "e", @"tail\.\d" },
        Defaults = new FloraModelOptions { Rank = 4, R3 = 2, ForwardPath = path },
        Overrides = new[] { ("d", new FloraTargetOptions { Rank = rankOfD }) },
    };

    private static (Chain Model, FloraAttachment Attachment) Build(string kind, FloraForwardPath path, FloraMethod method = FloraMethod.Flora, ScalarType dtype = ScalarType.Float32)
    {
        var model = new Chain(kind);
        if (dtype != ScalarType.Float32) model.to(dtype);
        var attachment = FloraInjector.Attach(model, Config(path, rankOfD: 2), method);
        // Every tensor (base and adapters) from private generators: tests run in parallel and share torch's global one,
        // and two models built alike must be equal.
        int seed = 500;
        using (torch.no_grad())
            foreach (var parameter in model.parameters())
                parameter.copy_(TestTensors.Randn(parameter.shape, seed++, parameter.dtype) * 0.3);
        return (model, attachment);
    }

    [Theory]
    [MemberData(nameof(KindsAndPaths))]
    public void Grouped_and_per_layer_adapters_agree_in_outputs_and_gradients(string kind, FloraForwardPath path)
    {
        using var scope = torch.NewDisposeScope();
        var (model, attachment) = Build(kind, path);
        // a, b, c are alike (d has another rank; with a stride or dilation of its own the group still serves it per member);
        // tail.0 and tail.1 form a second group; e stays alone.
        Assert.Equal(5, attachment.GroupedAdapters);
        var x = TestTensors.Randn(Chain.InputShape(kind), seed: 41).requires_grad_(true);

        (Tensor Output, Tensor[] Gradients) Run(Func<Tensor, Tensor> forward)
        {
            x.grad = null;
            foreach (var p in attachment.Parameters()) p.grad = null;
            var output = forward(x);
            (output * output).sum().backward();
            return (output.detach(), attachment.Parameters().Select(p => p.grad!.clone()).Append(x.grad!.clone()).ToArray());
        }

        var groups = attachment.Adapters.OfType<DeltaAdapterLayer>().Select(a => a.Group).OfType<AdapterGroup>().Distinct().ToArray();
        Assert.Equal(2, groups.Length);
        var (perLayer, perLayerGradients) = Run(model.forward); // forward(x) opens no scope: every adapter builds alone
        Assert.All(groups, g => Assert.Equal(0, g.Builds));
        var (grouped, groupedGradients) = Run(model.call);
        Assert.All(groups, g => Assert.Equal(1, g.Builds));
        Assert.All(attachment.Adapters.OfType<DeltaAdapterLayer>(), a => Assert.Equal(path, a.LastPath));

        TestTensors.AssertClose(perLayer, grouped, 1e-4, 1e-5, $"{kind} {path} output");
        for (int i = 0; i < perLayerGradients.Length; i++)
        {
            double atol = 1e-5 * System.Math.Max(1.0, perLayerGradients[i].abs().max().item<float>());
            TestTensors.AssertClose(perLayerGradients[i], groupedGradients[i], 1e-3, atol, $"{kind} {path} gradient {i}");
        }
    }

    [Theory]
    [InlineData(FloraMethod.Flora)]
    [InlineData(FloraMethod.Lora)]
    public void Optimizer_steps_through_groups_follow_the_per_layer_steps(FloraMethod method)
    {
        using var scope = torch.NewDisposeScope();
        var (groupedModel, grouped) = Build("conv2d", FloraForwardPath.Fused, method);
        var (perLayerModel, perLayer) = Build("conv2d", FloraForwardPath.Fused, method);
        Assert.True(grouped.GroupedAdapters > 0);
        var x = TestTensors.Randn(Chain.InputShape("conv2d"), seed: 42);
        using var groupedOptimizer = new FloraAdamW(grouped.Parameters(), learningRate: 1e-2);
        using var perLayerOptimizer = new FloraAdamW(perLayer.Parameters(), learningRate: 1e-2);
        for (int step = 0; step < 4; step++)
        {
            foreach (var (model, optimizer, forward) in new[] { (groupedModel, groupedOptimizer, (Func<Tensor, Tensor>)groupedModel.call), (perLayerModel, perLayerOptimizer, perLayerModel.forward) })
            {
                optimizer.ZeroGrad();
                using var output = forward(x);
                using var loss = (output * output).mean();
                loss.backward();
                optimizer.Step();
            }
        }
        foreach (var (g, p) in grouped.Parameters().Zip(perLayer.Parameters()))
            TestTensors.AssertClose(p, g, 1e-3, 1e-5, $"{method} parameter after 4 steps");
    }

    [Fact]
    public void Bfloat16_layers_with_float32_adapter_tensors_group_as_they_compute_alone()
    {
        using var scope = torch.NewDisposeScope();
        var (model, attachment) = Build("conv2d", FloraForwardPath.Fused, dtype: ScalarType.BFloat16);
        Assert.All(attachment.Parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        Assert.Equal(5, attachment.GroupedAdapters);
        var x = TestTensors.Randn(Chain.InputShape("conv2d"), seed: 43, ScalarType.BFloat16);
        using var perLayer = model.forward(x);
        using var grouped = model.call(x);
        Assert.Equal(ScalarType.BFloat16, grouped.dtype);
        TestTensors.AssertClose(perLayer, grouped, 2e-2, 2e-2, "bfloat16 output");
    }

    [Fact]
    public void The_group_builds_once_per_forward_and_a_layer_called_twice_reuses_its_weight()
    {
        using var scope = torch.NewDisposeScope();
        var (model, attachment) = Build("linear", FloraForwardPath.Fused);
        var group = ((DeltaAdapterLayer)attachment["a"]).Group!;
        var x = TestTensors.Randn(Chain.InputShape("linear"), seed: 44);
        for (int i = 1; i <= 3; i++)
        {
            using var output = model.call(x);
            Assert.Equal(i, group.Builds);
        }

        // Inside one forward of the model a member called twice takes the same weight: nothing is built again.
        var twice = new TwiceNet();
        var twiceAttachment = FloraInjector.Attach(twice, new FloraConfig
        {
            TargetModules = new[] { "first", "second" },
            Defaults = new FloraModelOptions { Rank = 3, ForwardPath = FloraForwardPath.Fused },
        });
        foreach (var adapter in twiceAttachment.Adapters) BaselineTensors.Randomise(adapter, 45);
        var twiceGroup = ((DeltaAdapterLayer)twiceAttachment["first"]).Group!;
        var input = TestTensors.Randn(new long[] { 2, 6 }, seed: 46);
        using var expected = twice.forward(input);
        using var actual = twice.call(input);
        Assert.Equal(1, twiceGroup.Builds);
        TestTensors.AssertClose(expected, actual, 1e-5, 1e-6, "a layer called twice");
    }

    private sealed class TwiceNet : nn.Module<Tensor, Tensor>
    {
        private readonly Linear first = nn.Linear(6, 6), second = nn.Linear(6, 6);

        public TwiceNet() : base(nameof(TwiceNet)) => RegisterComponents();

        public override Tensor forward(Tensor x) => second.call(first.call(first.call(x)));
    }

    [Fact]
    public void Two_forwards_before_one_backward_and_eval_without_gradients_match_per_layer()
    {
        using var scope = torch.NewDisposeScope();
        var (model, attachment) = Build("conv2d", FloraForwardPath.Fused);
        var x1 = TestTensors.Randn(Chain.InputShape("conv2d"), seed: 47);
        var x2 = TestTensors.Randn(Chain.InputShape("conv2d"), seed: 48);

        Tensor[] Gradients(Func<Tensor, Tensor> forward)
        {
            foreach (var p in attachment.Parameters()) p.grad = null;
            using var first = forward(x1);
            using var second = forward(x2);
            using var loss = first.sum() + (second * second).sum();
            loss.backward();
            return attachment.Parameters().Select(p => p.grad!.clone()).ToArray();
        }

        var perLayer = Gradients(model.forward);
        var grouped = Gradients(model.call);
        for (int i = 0; i < perLayer.Length; i++)
            TestTensors.AssertClose(perLayer[i], grouped[i], 1e-3, 1e-4 * System.Math.Max(1.0, perLayer[i].abs().max().item<float>()), $"gradient {i}");

        model.eval();
        using (torch.no_grad())
        {
            using var expected = model.forward(x1);
            using var actual = model.call(x1);
            TestTensors.AssertClose(expected, actual, 1e-4, 1e-5, "eval, no_grad");
        }
    }

    [Fact]
    public void With_dropout_no_fused_weight_is_built_while_training()
    {
        using var scope = torch.NewDisposeScope();
        var model = new Chain("linear");
        var attachment = FloraInjector.Attach(model, new FloraConfig
        {
            TargetModules = new[] { "a", "b", "c" },
            Defaults = new FloraModelOptions { Rank = 4, Dropout = 0.1, ForwardPath = FloraForwardPath.Fused },
        });
        using var output = model.call(TestTensors.Randn(Chain.InputShape("linear"), seed: 50));
        // The fused path has no dropout: the adapters run unfused (the update of the dropped-out input added to the base output).
        Assert.All(attachment.Adapters.OfType<DeltaAdapterLayer>(), a => Assert.NotEqual(FloraForwardPath.Fused, a.LastPath));
    }

    [Fact]
    public void A_forward_that_throws_closes_its_scope_and_nothing_it_built_is_reused()
    {
        using var scope = torch.NewDisposeScope();
        var (model, attachment) = Build("linear", FloraForwardPath.Fused);
        var a = (FloraLayer)attachment["a"];
        var x = TestTensors.Randn(Chain.InputShape("linear"), seed: 51);
        var wrong = TestTensors.Randn(new long[] { 5, 3 }, seed: 52);
        Assert.ThrowsAny<Exception>(() => model.call(wrong)); // the first layer refuses the shape: the root's forward hook never runs
        using var before = model.forward(x);
        using (torch.no_grad()) a.Core.mul_(2); // what a training step would do
        using var expected = model.forward(x);
        Assert.False(expected.allclose(before));
        TestTensors.AssertClose(expected, model.call(x), 1e-5, 1e-6, "after a forward that threw");
    }

    [Fact]
    public void Detach_removes_the_scope_hooks_and_the_groups()
    {
        using var scope = torch.NewDisposeScope();
        var (model, attachment) = Build("linear", FloraForwardPath.Fused);
        var adapters = attachment.Adapters.OfType<DeltaAdapterLayer>().ToArray();
        Assert.Equal(2, ModuleHooks.Count(model)); // the scope's pre-hook and hook
        attachment.Detach();
        Assert.Equal(0, ModuleHooks.Count(model));
        Assert.All(adapters, a => Assert.Null(a.Group));
    }

    private sealed class Outer : nn.Module<Tensor, Tensor>
    {
        private readonly Chain inner;
        private readonly bool _callsInner;

        public Outer(Chain inner, bool callsInner) : base(nameof(Outer))
        {
            this.inner = inner;
            _callsInner = callsInner;
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => (_callsInner ? inner.call(x) : inner.forward(x)) * 2;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_model_called_from_inside_another_groups_through_its_call_and_computes_alone_through_its_forward(bool callsInner)
    {
        using var scope = torch.NewDisposeScope();
        var (inner, attachment) = Build("conv2d", FloraForwardPath.Fused);
        var outer = new Outer(inner, callsInner);
        var group = ((DeltaAdapterLayer)attachment["a"]).Group!;
        var x = TestTensors.Randn(Chain.InputShape("conv2d"), seed: 53);
        using var expected = inner.forward(x) * 2;
        using var actual = outer.call(x);
        Assert.Equal(callsInner ? 1 : 0, group.Builds);
        TestTensors.AssertClose(expected, actual, 1e-4, 1e-5, "outer model");
    }

    [Fact]
    public void A_merged_or_disabled_member_computes_as_it_should_while_the_rest_of_its_group_builds_together()
    {
        using var scope = torch.NewDisposeScope();
        var (model, attachment) = Build("conv2d", FloraForwardPath.Fused);
        var x = TestTensors.Randn(Chain.InputShape("conv2d"), seed: 54);
        using var expected = model.forward(x);
        attachment["b"].Merge();
        TestTensors.AssertClose(expected, model.call(x), 1e-4, 1e-5, "one member merged");
        attachment["b"].Unmerge();
        using (attachment.Disable())
        {
            using var baseOutput = model.forward(x);
            TestTensors.AssertClose(baseOutput, model.call(x), 1e-5, 1e-6, "disabled");
        }
        TestTensors.AssertClose(expected, model.call(x), 1e-4, 1e-5, "enabled again");
    }
}
