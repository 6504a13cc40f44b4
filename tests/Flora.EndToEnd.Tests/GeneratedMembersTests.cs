using System.IO;
using Flora;
using TorchSharp.Modules;

namespace Flora.EndToEnd.Tests;

/// <summary>The generated members against real TorchSharp modules.</summary>
public sealed class GeneratedMembersTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flora-e2e-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Bit-for-bit equality of two tensors.</summary>
    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.dtype == b.dtype && a.eq(b).all().item<bool>();

    [Fact]
    public void The_compile_time_count_equals_the_parameters_created_at_attach()
    {
        // conv1: 16·1·2·2 + 32·16 + 1·1 + 2·3·2 (r_in clamps to in = 1); conv2: 8·8·2·2 + 64·8 + 32·8 + 2·3·2; head: 4·4 + 10·4 + 64·4
        const long expected = (16 * 1 * 2 * 2 + 32 * 16 + 1 * 1 + 12) + (8 * 8 * 4 + 64 * 8 + 32 * 8 + 12) + (4 * 4 + 10 * 4 + 64 * 4);
        Assert.Equal(expected, SmallCnn.FloraTrainableParameters);
        using var model = new SmallCnn();
        var adapters = model.AttachFlora();
        Assert.Equal(SmallCnn.FloraTrainableParameters, adapters.TrainableParameters);
        Assert.Equal(adapters.TrainableParameters, model.FloraParameters().Sum(p => p.numel()));
        Assert.Equal(model.parameters().Where(p => p.requires_grad).Sum(p => p.numel()), adapters.TrainableParameters);
    }

    [Fact]
    public void Typed_properties_expose_each_adapter()
    {
        using var model = new SmallCnn();
        SmallCnn.FloraAdapters adapters = model.AttachFlora();
        FloraConv2d conv1 = adapters.Conv1;
        FloraLinear head = adapters.Head;
        Assert.Equal(new[] { 16, 1, 2, 2 }, conv1.Config.Ranks);
        Assert.Equal(new[] { 4, 4 }, head.Config.Ranks);
        Assert.Equal(new long[] { 32, 1, 3, 3 }, conv1.Delta().shape);
        Assert.Equal(3, adapters.All.Count);
        Assert.Equal(FloraMethod.Flora, adapters.Method);
        Assert.Contains("conv2", adapters.ToString());
    }

    [Fact]
    public void Attach_starts_equal_to_the_base_and_merge_equals_unmerged()
    {
        using var model = new SmallCnn();
        model.eval();
        using var x = torch.randn(2, 1, 8, 8);
        using var before = model.forward(x);
        var adapters = model.AttachFlora();
        using (var attached = model.forward(x)) Assert.True(Same(attached, before));

        using (torch.no_grad())
            foreach (var adapter in new FloraLayer[] { adapters.Conv1, adapters.Conv2, adapters.Head }) adapter.Core.normal_();
        using var unmerged = model.forward(x);
        Assert.False(unmerged.allclose(before));
        model.MergeFlora();
        using var merged = model.forward(x);
        Assert.True(merged.allclose(unmerged, rtol: 1e-4, atol: 1e-5));
        Assert.Throws<InvalidOperationException>(model.MergeFlora);
        model.UnmergeFlora();
        model.DetachFlora();
        using var detached = model.forward(x);
        Assert.True(detached.allclose(before, rtol: 1e-5, atol: 1e-6)); // merge then unmerge restores W0 to float tolerance
        Assert.Throws<InvalidOperationException>(model.MergeFlora);
    }

    [Fact]
    public void Save_and_load_round_trip_through_the_generated_members()
    {
        using var source = new SmallCnn();
        var saved = source.AttachFlora();
        using (torch.no_grad()) saved.Conv2.Core.normal_();
        string path = Path.Combine(_dir, "run1.flora.safetensors");
        source.SaveFlora(path);

        using var target = new SmallCnn();
        var loaded = target.AttachFlora();
        target.LoadFlora(path);
        Assert.True(Same(loaded.Conv2.Core, saved.Conv2.Core));
        Assert.True(Same(loaded.Conv1.Factor(0), saved.Conv1.Factor(0)));
    }

    [Fact]
    public void Attaching_twice_is_an_error_and_training_only_moves_adapters()
    {
        using var model = new SmallCnn();
        model.AttachFlora();
        Assert.Contains("DetachFlora", Assert.Throws<InvalidOperationException>(() => model.AttachFlora()).Message);
        var frozen = model.parameters().Where(p => !p.requires_grad).Select(p => p.detach().clone()).ToList();
        var optimizer = torch.optim.AdamW(model.FloraParameters(), lr: 1e-2);
        for (int i = 0; i < 3; i++)
        {
            using var scope = torch.NewDisposeScope();
            optimizer.zero_grad();
            model.forward(torch.randn(4, 1, 8, 8)).square().mean().backward();
            optimizer.step();
        }
        var after = model.parameters().Where(p => !p.requires_grad).ToList();
        Assert.All(frozen.Zip(after), pair => Assert.True(Same(pair.First, pair.Second)));
    }

    [Fact]
    public void Properties_constants_tuples_and_stored_wrappers_work()
    {
        // Stem: Conv2d(3, 6, (3, 5)) ranks (6, 3, 1, 1); Mix: Conv1d(6, 12, 3) ranks (2, 3, 1); _head: Linear(12, 4) ranks (4, 8)
        const long expected = (6 * 3 + 6 * 6 + 3 * 3 + 3 + 5) + (2 * 3 + 12 * 2 + 6 * 3 + 3) + (4 * 8 + 4 * 4 + 12 * 8);
        Assert.Equal(expected, PropertyModel.FloraTrainableParameters);
        using var model = new PropertyModel();
        model.eval();
        using var x = torch.randn(2, 3, 5, 7);
        using var before = model.forward(x);
        var adapters = model.AttachFlora();
        Assert.Equal(expected, adapters.TrainableParameters);
        Assert.IsType<FloraConv1d>(model.Mix); // a member typed Module<Tensor, Tensor> holds the wrapper itself
        Assert.IsType<Conv2d>(model.Stem);     // a sealed-typed member keeps the base layer and routes through a hook
        Assert.Equal(new[] { 6, 3, 1, 1 }, adapters.Stem.Config.Ranks);
        Assert.NotNull(adapters.Head);
        using (var attached = model.forward(x)) Assert.True(Same(attached, before));
        model.DetachFlora();
        Assert.IsType<Conv1d>(model.Mix);
    }

    [Fact]
    public void Runtime_shapes_get_no_constant_but_a_real_count()
    {
        Assert.Null(typeof(RuntimeShapes).GetField("FloraTrainableParameters"));
        using var model = new RuntimeShapes(5);
        var adapters = model.AttachFlora();
        Assert.Equal(model.FloraParameters().Sum(p => p.numel()), adapters.TrainableParameters);
        using var y = model.forward(torch.randn(new long[] { 1, 2, 4, 4, 4 }));
        Assert.Equal(new long[] { 1, 5 }, y.shape);
    }

    [Fact]
    public void Nested_generic_models_are_generated()
    {
        Assert.Equal(8 * 1 * 1 * 1 + 8 * 8 + 1 * 1 + 2 * 7 * 1, Outer.Nested<string>.FloraTrainableParameters);
        using var model = new Outer.Nested<int>();
        var adapters = model.AttachFlora();
        Assert.Equal(new[] { 8, 1, 1, 1 }, adapters.Dw.Config.Ranks);
    }
}
