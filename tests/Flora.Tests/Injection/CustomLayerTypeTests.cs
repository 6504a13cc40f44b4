using TorchSharp.Modules;

namespace Flora.Tests.Injection;

/// <summary>A layer type of one's own (PEFT's custom modules) registered with <see cref="FloraLayerTypes"/>.</summary>
public class CustomLayerTypeTests
{
    /// <summary>A user's own dense layer: <c>x·Wᵀ + b</c> with its own parameters.</summary>
    private sealed class MyDense : nn.Module<Tensor, Tensor>
    {
        public MyDense(int inputs, int outputs) : base(nameof(MyDense))
        {
            using var w = TestTensors.Randn(new long[] { outputs, inputs }, seed: 5);
            using var b = TestTensors.Randn(new long[] { outputs }, seed: 6);
            weight = new Parameter(w.clone());
            bias = new Parameter(b.clone());
            RegisterComponents();
        }

        public Parameter weight { get; }

        public Parameter bias { get; }

        public override Tensor forward(Tensor input) => nn.functional.linear(input, weight, bias);
    }

    private sealed class Net : nn.Module<Tensor, Tensor>
    {
        private readonly MyDense dense = new(6, 5);

        public Net() : base(nameof(Net)) => RegisterComponents();

        public override Tensor forward(Tensor input) => dense.call(input);
    }

    [Fact]
    public void A_registered_layer_type_takes_every_method_and_computes_its_update()
    {
        int geometries = 0;
        FloraLayerTypes.Register<MyDense>(layer =>
        {
            System.Threading.Interlocked.Increment(ref geometries);
            return LayerGeometry.Linear(() => layer.weight, () => layer.bias);
        });
        try
        {
            Assert.Contains(nameof(MyDense), FloraLayerTypes.Names);
            using var x = TestTensors.Randn(new long[] { 3, 6 }, seed: 7);
            foreach (var method in new[] { FloraMethod.Flora, FloraMethod.Lora, FloraMethod.Dora, FloraMethod.AdaLora })
            {
                using var model = new Net();
                using var before = model.call(x);
                int geometriesBefore = geometries;
                var attachment = FloraInjector.Attach(model, new FloraConfig { TargetModules = new[] { "dense" }, Defaults = new FloraModelOptions { Rank = 2 } }, method);
                Assert.Equal(geometriesBefore + 1, geometries); // the user's factory runs once per adapter: the dispatch reads the weight through the geometry it builds on
                var adapter = (DeltaAdapterLayer)attachment.Adapters.Single();
                TestTensors.AssertBitEqual(before, model.call(x), $"{method} at attach");
                using (no_grad())
                    foreach (var (_, tensor) in adapter.AdapterTensors)
                    {
                        using var noise = TestTensors.Randn(tensor.shape, seed: 8);
                        tensor.PlusInPlace(noise.Times(0.1));
                    }
                using var adapted = model.call(x);
                Assert.False(adapted.allclose(before), $"{method}: the update changes the output");
                attachment.Merge();
                TestTensors.AssertClose(adapted, model.call(x), 1e-5, 1e-5, $"{method} merged");
                attachment.Detach();
                TestTensors.AssertClose(before, model.call(x), 1e-5, 1e-5, $"{method} detached");
            }
        }
        finally
        {
            Assert.True(FloraLayerTypes.Unregister<MyDense>());
        }
        Assert.DoesNotContain(nameof(MyDense), FloraLayerTypes.Names);
    }

    [Fact]
    public void The_built_in_rows_shared_with_the_generator_name_the_runtime_adapter_types()
    {
        foreach (var row in FloraLayerKinds.Rows)
        {
            if (row.Kind == LayerKind.MultiheadAttention)
            {
                // Adapted through its projections: the wrapper the typed property returns holds a FLoRA adapter on each.
                using var attention = nn.MultiheadAttention(4, 2);
                Assert.Equal(row.TypeName, attention.GetType().Name);
                Assert.Equal(FloraLayerKinds.TorchNamespace, attention.GetType().Namespace);
                var wrapper = FloraMultiheadAttention.Wrap(nn.Sequential(), "attn", "attn", attention);
                Assert.Equal(row.FloraAdapterTypeName, wrapper.GetType().Name);
                foreach (var projection in wrapper.Targets(FloraTargetOptions.Inherit))
                {
                    using var projectionAdapter = AdapterDispatch.CreateFlora(projection.Slot.Path, projection.Slot.Layer, new FloraModelOptions(), FloraTargetOptions.Inherit);
                    Assert.IsAssignableFrom<FloraLayer>(projectionAdapter);
                }
                continue;
            }
            nn.Module<Tensor, Tensor> layer = row.Kind == LayerKind.Embedding ? nn.Embedding(4, 3) : (row.Transposed, row.KernelAxes) switch
            {
                (false, 0) => nn.Linear(4, 3),
                (false, 1) => nn.Conv1d(4, 3, 3),
                (false, 2) => nn.Conv2d(4, 3, 3),
                (false, _) => nn.Conv3d(4, 3, 3),
                (true, 1) => nn.ConvTranspose1d(4, 3, 3),
                (true, 2) => nn.ConvTranspose2d(4, 3, 3),
                (true, _) => nn.ConvTranspose3d(4, 3, 3),
            };
            Assert.Equal(row.TypeName, layer.GetType().Name);
            Assert.Equal(FloraLayerKinds.TorchNamespace, layer.GetType().Namespace);
            using var adapter = AdapterDispatch.CreateFlora("layer", layer, new FloraModelOptions(), FloraTargetOptions.Inherit);
            Assert.Equal(row.FloraAdapterTypeName, adapter.GetType().Name);
        }
    }
}
