using Flora.Pretrained;
using TorchSharp.Modules;

namespace Flora.Pretrained.Tests;

/// <summary>
/// The race-free BatchNorm forward of the pretrained models against TorchSharp's own (bit for bit, outputs and running
/// statistics) and against the formula in double precision; the cases it hands to TorchSharp keep TorchSharp's behaviour.
/// </summary>
public sealed class BatchNormForwardTests
{
    private static BatchNorm2d Layer(long seed, double momentum = 0.1)
    {
        var layer = nn.BatchNorm2d(5, momentum: momentum);
        using (no_grad())
        {
            using var generator = new Generator((ulong)seed);
            layer.weight.copy_(rand(5, generator: generator) + 0.5);
            layer.bias!.copy_(randn(5, generator: generator));
            layer.running_mean!.copy_(randn(5, generator: generator));
            layer.running_var!.copy_(rand(5, generator: generator) + 0.5);
        }
        return layer;
    }

    private static Tensor Input(long seed, params long[] shape)
    {
        using var generator = new Generator((ulong)seed);
        return randn(shape, generator: generator) * 2 + 0.3;
    }

    /// <summary>Bit for bit: the same shape and every element equal.</summary>
    private static bool Same(Tensor expected, Tensor actual) => expected.shape.SequenceEqual(actual.shape) && expected.eq(actual).all().item<bool>();

    private static void AssertSameState(BatchNorm2d expected, BatchNorm2d actual)
    {
        Assert.True(Same(expected.running_mean!, actual.running_mean!), "running_mean");
        Assert.True(Same(expected.running_var!, actual.running_var!), "running_var");
        Assert.Equal(ScalarType.Int64, actual.num_batches_tracked!.dtype);
        Assert.Equal(expected.num_batches_tracked!.item<long>(), actual.num_batches_tracked!.item<long>());
    }

    [Fact]
    public void Training_steps_equal_TorchSharps_forward_bit_for_bit_and_count_every_batch()
    {
        using var scope = NewDisposeScope();
        var ours = Layer(1);
        var theirs = Layer(1);
        for (int step = 0; step < 3; step++)
        {
            var x = Input(10 + step, 4, 5, 3, 6);
            Assert.True(Same(BatchNormForward.Run(ours, x), theirs.call(x)), $"step {step}");
            AssertSameState(theirs, ours);
        }
        Assert.Equal(3, ours.num_batches_tracked!.item<long>());

        ours.eval();
        theirs.eval();
        var test = Input(20, 2, 5, 4, 4);
        Assert.True(Same(BatchNormForward.Run(ours, test), theirs.call(test)), "eval mode");
        AssertSameState(theirs, ours);
    }

    [Fact]
    public void A_training_step_is_the_batch_normalisation_formula_in_double_precision()
    {
        using var scope = NewDisposeScope();
        var layer = Layer(2, momentum: 0.25);
        var x = Input(3, 6, 5, 2, 3);
        var mean0 = layer.running_mean!.to(ScalarType.Float64).clone();
        var var0 = layer.running_var!.to(ScalarType.Float64).clone();

        var actual = BatchNormForward.Run(layer, x);

        var xd = x.to(ScalarType.Float64);
        var mean = xd.mean(new long[] { 0, 2, 3 });
        var centred = xd - mean.view(1, 5, 1, 1);
        double n = 6 * 2 * 3;
        var biased = centred.square().sum(new long[] { 0, 2, 3 }) / n;
        var expected = centred / (biased.view(1, 5, 1, 1) + 1e-5).sqrt() * layer.weight.to(ScalarType.Float64).view(1, 5, 1, 1)
            + layer.bias!.to(ScalarType.Float64).view(1, 5, 1, 1);
        Assert.True(actual.to(ScalarType.Float64).allclose(expected, rtol: 1e-5, atol: 1e-5), "output");
        // The running variance is updated with the unbiased batch variance, as in PyTorch.
        Assert.True(layer.running_mean!.to(ScalarType.Float64).allclose(mean0 * 0.75 + mean * 0.25, rtol: 1e-6, atol: 1e-6), "running_mean");
        Assert.True(layer.running_var!.to(ScalarType.Float64).allclose(var0 * 0.75 + biased * (n / (n - 1)) * 0.25, rtol: 1e-6, atol: 1e-6), "running_var");
        Assert.Equal(1, layer.num_batches_tracked!.item<long>());
    }

    [Fact]
    public void A_layer_with_a_hook_of_its_own_runs_through_TorchSharp_and_the_hook_keeps_its_effect()
    {
        using var scope = NewDisposeScope();
        var layer = Layer(4);
        var reference = Layer(4);
        int calls = 0;
        var hook = layer.register_forward_hook((_, _, output) =>
        {
            calls++;
            return output + 1;
        });
        var x = Input(5, 2, 5, 3, 3);
        var actual = BatchNormForward.Run(layer, x);
        Assert.Equal(1, calls);
        Assert.True(Same(actual, reference.call(x) + 1));
        AssertSameState(reference, layer);
        hook.remove();
    }

    [Fact]
    public void Momentum_zero_keeps_TorchSharps_cumulative_average_and_a_wrong_rank_keeps_its_error()
    {
        using var scope = NewDisposeScope();
        var ours = Layer(6, momentum: 0);
        var theirs = Layer(6, momentum: 0);
        for (int step = 0; step < 2; step++)
        {
            var x = Input(30 + step, 3, 5, 2, 2);
            Assert.True(Same(BatchNormForward.Run(ours, x), theirs.call(x)));
            AssertSameState(theirs, ours);
        }
        var error = Assert.Throws<ArgumentException>(() => BatchNormForward.Run(ours, Input(7, 3, 5, 4)));
        Assert.Contains("4D", error.Message);
    }
}
