using TorchSharp.Modules;

namespace Flora.Tests.Training;

/// <summary>
/// FloraBatchNorm.Forward against TorchSharp's own BatchNorm forward (bit for bit: outputs, gradients, running statistics
/// and the batch count; BatchNorm1d/2d/3d, train and eval mode, momentum set, null and 0) and against the batch
/// normalisation formula in double precision; the cases it hands to TorchSharp keep TorchSharp's behaviour.
/// </summary>
public sealed class FloraBatchNormTests
{
    private const int Features = 5;

    /// <summary>A layer of <paramref name="kind"/> (1, 2 or 3) with seeded, non-default parameters and statistics.</summary>
    private static BatchNorm Layer(int kind, long seed, double? momentum = 0.1, bool affine = true, bool trackRunningStats = true)
    {
        BatchNorm layer = kind switch
        {
            1 => nn.BatchNorm1d(Features, affine: affine, track_running_stats: trackRunningStats),
            2 => nn.BatchNorm2d(Features, affine: affine, track_running_stats: trackRunningStats),
            _ => nn.BatchNorm3d(Features, affine: affine, track_running_stats: trackRunningStats),
        };
        layer.momentum = momentum;
        using (no_grad())
        {
            using var generator = new Generator((ulong)seed);
            if (affine)
            {
                layer.weight.copy_(rand(Features, generator: generator) + 0.5);
                layer.bias!.copy_(randn(Features, generator: generator));
            }
            if (trackRunningStats)
            {
                layer.running_mean!.copy_(randn(Features, generator: generator));
                layer.running_var!.copy_(rand(Features, generator: generator) + 0.5);
            }
        }
        return layer;
    }

    /// <summary>A batch for a layer of <paramref name="kind"/>; <paramref name="rank"/> picks 1d's [N, C] (2) or [N, C, L] (3).</summary>
    private static Tensor Input(int kind, long seed, int? rank = null)
    {
        long[] shape = (rank ?? kind + 2) switch
        {
            2 => new long[] { 6, Features },
            3 => new long[] { 4, Features, 7 },
            4 => new long[] { 4, Features, 3, 6 },
            _ => new long[] { 2, Features, 3, 2, 4 },
        };
        using var generator = new Generator((ulong)seed);
        return (randn(shape, generator: generator) * 2 + 0.3).requires_grad_();
    }

    private static void AssertSame(Tensor expected, Tensor actual, string what)
    {
        Assert.True(expected.shape.SequenceEqual(actual.shape), $"{what}: shape");
        Assert.True(expected.eq(actual).all().item<bool>(), $"{what}: not bit for bit equal");
    }

    private static void AssertSameState(BatchNorm expected, BatchNorm actual, string what)
    {
        if (expected.running_mean is null)
        {
            Assert.Null(actual.running_mean);
            Assert.Null(actual.num_batches_tracked);
            return;
        }
        AssertSame(expected.running_mean, actual.running_mean!, what + ": running_mean");
        AssertSame(expected.running_var!, actual.running_var!, what + ": running_var");
        Assert.Equal(expected.num_batches_tracked!.dtype, actual.num_batches_tracked!.dtype);
        Assert.Equal(expected.num_batches_tracked.item<long>(), actual.num_batches_tracked.item<long>());
    }

    public static TheoryData<int, int, double?> Layers()
    {
        var data = new TheoryData<int, int, double?>();
        foreach (double? momentum in new double?[] { 0.1, null, 0.0 })
        {
            data.Add(1, 2, momentum);
            data.Add(1, 3, momentum);
            data.Add(2, 4, momentum);
            data.Add(3, 5, momentum);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Layers))]
    public void Training_and_eval_equal_TorchSharps_forward_bit_for_bit(int kind, int rank, double? momentum)
    {
        using var scope = NewDisposeScope();
        var ours = Layer(kind, 1, momentum);
        var theirs = Layer(kind, 1, momentum);
        for (int step = 0; step < 3; step++)
        {
            var x = Input(kind, 10 + step, rank);
            var expected = theirs.call(x);
            var actual = FloraBatchNorm.Forward(ours, x);
            AssertSame(expected, actual, $"step {step}");
            AssertSameState(theirs, ours, $"step {step}");

            // The same graph: the same gradients for the input and the affine parameters.
            var gradOutput = Input(kind, 40 + step, rank).detach();
            var expectedGrads = autograd.grad(new[] { expected }, new[] { x, theirs.weight, theirs.bias! }, new[] { gradOutput });
            var actualGrads = autograd.grad(new[] { actual }, new[] { x, ours.weight, ours.bias! }, new[] { gradOutput });
            for (int i = 0; i < 3; i++) AssertSame(expectedGrads[i], actualGrads[i], $"step {step}: gradient {i}");
        }
        Assert.Equal(3, ours.num_batches_tracked!.item<long>());

        ours.eval();
        theirs.eval();
        var test = Input(kind, 20, rank);
        AssertSame(theirs.call(test), FloraBatchNorm.Forward(ours, test), "eval mode");
        AssertSameState(theirs, ours, "eval mode");
    }

    [Theory]
    [InlineData(2, 0.25)]
    [InlineData(1, null)]
    [InlineData(3, 0.0)]
    public void A_training_step_is_the_batch_normalisation_formula_in_double_precision(int kind, double? momentum)
    {
        using var scope = NewDisposeScope();
        var layer = Layer(kind, 2, momentum);
        using (no_grad()) layer.num_batches_tracked!.fill_(3); // three batches already counted: null momentum averages over 4
        var x = Input(kind, 3);
        var mean0 = layer.running_mean!.to(ScalarType.Float64).clone();
        var var0 = layer.running_var!.to(ScalarType.Float64).clone();

        var actual = FloraBatchNorm.Forward(layer, x);

        long[] reduce = Enumerable.Range(0, (int)x.ndim).Where(d => d != 1).Select(d => (long)d).ToArray();
        long[] perChannel = Enumerable.Range(0, (int)x.ndim).Select(d => d == 1 ? (long)Features : 1).ToArray();
        var xd = x.detach().to(ScalarType.Float64);
        var mean = xd.mean(reduce);
        var centred = xd - mean.view(perChannel);
        double n = x.numel() / Features;
        var biased = centred.square().sum(reduce) / n;
        var expected = centred / (biased.view(perChannel) + 1e-5).sqrt() * layer.weight.detach().to(ScalarType.Float64).view(perChannel)
            + layer.bias!.detach().to(ScalarType.Float64).view(perChannel);
        Assert.True(actual.detach().to(ScalarType.Float64).allclose(expected, rtol: 1e-5, atol: 1e-5), "output");

        // The running statistics move by the momentum, or by 1/count (the cumulative average) when it is null; the
        // running variance takes the unbiased batch variance, as in PyTorch.
        double factor = momentum ?? 1.0 / 4;
        var unbiased = biased * (n / (n - 1));
        Assert.True(layer.running_mean!.to(ScalarType.Float64).allclose(mean0 * (1 - factor) + mean * factor, rtol: 1e-6, atol: 1e-6), "running_mean");
        Assert.True(layer.running_var!.to(ScalarType.Float64).allclose(var0 * (1 - factor) + unbiased * factor, rtol: 1e-6, atol: 1e-6), "running_var");
        Assert.Equal(4, layer.num_batches_tracked!.item<long>());
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(false, false)]
    public void Layers_without_affine_parameters_or_running_statistics_equal_TorchSharp(bool affine, bool trackRunningStats)
    {
        using var scope = NewDisposeScope();
        var ours = Layer(2, 7, affine: affine, trackRunningStats: trackRunningStats);
        var theirs = Layer(2, 7, affine: affine, trackRunningStats: trackRunningStats);
        for (int step = 0; step < 2; step++)
        {
            var x = Input(2, 50 + step);
            AssertSame(theirs.call(x), FloraBatchNorm.Forward(ours, x), $"step {step}");
            AssertSameState(theirs, ours, $"step {step}");
        }
        ours.eval();
        theirs.eval();
        var test = Input(2, 60);
        AssertSame(theirs.call(test), FloraBatchNorm.Forward(ours, test), "eval mode");
    }

    [Fact]
    public void A_layer_with_a_hook_of_its_own_goes_through_call_and_the_hook_keeps_its_effect()
    {
        using var scope = NewDisposeScope();
        var layer = (BatchNorm2d)Layer(2, 4);
        var reference = Layer(2, 4);
        int calls = 0;
        var hook = layer.register_forward_hook((_, _, output) =>
        {
            calls++;
            return output + 1;
        });
        var x = Input(2, 5);
        var actual = FloraBatchNorm.Forward(layer, x);
        Assert.Equal(1, calls);
        AssertSame(reference.call(x) + 1, actual, "hooked output");
        AssertSameState(reference, layer, "hooked");
        hook.remove();
    }

    [Fact]
    public void An_input_of_the_wrong_rank_keeps_TorchSharps_error_and_null_arguments_are_refused()
    {
        using var scope = NewDisposeScope();
        var layer = Layer(2, 6);
        var error = Assert.Throws<ArgumentException>(() => FloraBatchNorm.Forward(layer, Input(1, 7, rank: 3)));
        Assert.Contains("4D", error.Message);
        Assert.Equal(0, layer.num_batches_tracked!.item<long>());
        Assert.Throws<ArgumentException>(() => FloraBatchNorm.Forward(Layer(1, 6), Input(2, 7)));
        Assert.Throws<ArgumentNullException>(() => FloraBatchNorm.Forward(null!, Input(2, 7)));
        Assert.Throws<ArgumentNullException>(() => FloraBatchNorm.Forward(layer, null!));
    }
}
