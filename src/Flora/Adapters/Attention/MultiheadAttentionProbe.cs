using System;
using System.Linq;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// Finds what TorchSharp 0.107 keeps native and does not expose of a <see cref="MultiheadAttention"/>: its number of heads
/// and <c>add_zero_attn</c>, by computing its output on a fixed probe input for every candidate (the divisors of E, with
/// and without the zero key) and keeping the one that reproduces the base layer's; and whether it has attention dropout
/// (its training-mode output differs from its eval-mode one), which the adapter cannot reproduce and refuses. The global
/// random state and the layer's mode are restored afterwards.
/// </summary>
internal static class MultiheadAttentionProbe
{
    private const long ProbeLength = 4;
    private const long ProbeBatch = 2;

    public static MultiheadAttentionLayout Layout(string path, MultiheadAttention attention)
    {
        var weight = attention.get_parameter("in_proj_weight")!;
        long e = weight.shape[1];
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        bool wasTraining = attention.training;
        var rngState = get_rng_state();
        try
        {
            using var generator = new Generator(20261204);
            var x = randn(new[] { ProbeLength, ProbeBatch, e }, generator: generator).to(weight.dtype, weight.device);
            attention.eval();
            var expected = attention.call(x, x, x, null, false, null).Item1;
            attention.train();
            var trained = attention.call(x, x, x, null, false, null).Item1;
            if ((trained - expected).abs().max().to(ScalarType.Float64).item<double>() != 0)
                throw new ArgumentException($"'{path}' is a MultiheadAttention built with attention dropout, whose probability TorchSharp does not expose, so its " +
                                            "adapter cannot reproduce it. Build it with dropout 0 (a Dropout after it regularises too), or leave it out of the targets.");
            (MultiheadAttentionLayout Layout, double Error) best = (default, double.PositiveInfinity);
            foreach (long heads in Enumerable.Range(1, (int)e).Where(h => e % h == 0))
            {
                foreach (bool zeroAttention in new[] { false, true })
                {
                    var layout = new MultiheadAttentionLayout(e, heads, zeroAttention);
                    var (output, _) = MultiheadAttentionMath.Forward(layout, Project(attention, "in_proj_weight", "in_proj_bias"), Project(attention, "out_proj.weight", "out_proj.bias"),
                        x, x, x, null, false, null, attention.get_parameter("bias_k"), attention.get_parameter("bias_v"), 0, training: false);
                    double error = (output - expected).abs().max().to(ScalarType.Float64).item<double>();
                    if (error < best.Error) best = (layout, error);
                }
            }
            double scale = 1 + expected.abs().max().to(ScalarType.Float64).item<double>();
            double tolerance = weight.dtype is ScalarType.Float16 or ScalarType.BFloat16 ? 2e-2 : 1e-4;
            if (best.Error > tolerance * scale)
                throw new ArgumentException($"'{path}': no number of heads reproduces this MultiheadAttention's output (closest error {best.Error:G3}); it cannot be adapted.");
            return best.Layout;
        }
        finally
        {
            attention.train(wasTraining);
            set_rng_state(rngState);
            rngState.Dispose();
        }
    }

    private static Func<Tensor, Tensor> Project(MultiheadAttention attention, string weight, string bias) =>
        input => nn.functional.linear(input, attention.get_parameter(weight)!, attention.get_parameter(bias));
}
