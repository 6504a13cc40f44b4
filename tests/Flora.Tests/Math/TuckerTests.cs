namespace Flora.Tests.Math;

/// <summary>The Tucker reconstruction against an explicit element-wise sum in double precision.</summary>
public class TuckerTests
{
    public static TheoryData<long[], long[]> Shapes => new()
    {
        { new long[] { 5, 4 }, new long[] { 2, 3 } },
        { new long[] { 4, 3, 5 }, new long[] { 2, 3, 2 } },
        { new long[] { 4, 3, 3, 5 }, new long[] { 3, 2, 2, 1 } },
        { new long[] { 3, 2, 3, 2, 4 }, new long[] { 2, 2, 1, 2, 3 } },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Reconstruct_equals_the_element_wise_sum(long[] sizes, long[] ranks)
    {
        int n = sizes.Length;
        using var core = TestTensors.Randn(ranks, seed: 1, ScalarType.Float64);
        var factors = Enumerable.Range(0, n).Select(m => TestTensors.Randn(new[] { sizes[m], ranks[m] }, seed: 10 + m, ScalarType.Float64)).ToArray();

        using var actual = Tucker.Reconstruct(core, factors);

        double[] g = core.data<double>().ToArray();
        double[][] u = factors.Select(f => f.data<double>().ToArray()).ToArray();
        var expected = new double[sizes.Aggregate(1L, (a, b) => a * b)];
        var index = new long[n];
        var coreIndex = new long[n];
        for (long e = 0; e < expected.Length; e++)
        {
            Unravel(e, sizes, index);
            double sum = 0;
            for (long c = 0; c < g.Length; c++)
            {
                Unravel(c, ranks, coreIndex);
                double term = g[c];
                for (int m = 0; m < n; m++) term *= u[m][index[m] * ranks[m] + coreIndex[m]];
                sum += term;
            }
            expected[e] = sum;
        }
        using var expectedTensor = torch.tensor(expected, sizes, ScalarType.Float64);
        TestTensors.AssertClose(expectedTensor, actual, rtol: 1e-12, atol: 1e-12, $"Tucker reconstruction of {n} modes");
        foreach (var f in factors) f.Dispose();
    }

    [Fact]
    public void Mode_product_replaces_the_mode_size_and_rejects_a_mismatched_factor()
    {
        using var x = torch.ones(2, 3, 4);
        using var u = torch.ones(7, 3);
        using var y = Tucker.ModeProduct(x, u, 1);
        Assert.Equal(new long[] { 2, 7, 4 }, y.shape);
        Assert.Equal(3.0f, y[0, 0, 0].item<float>());
        using var wrong = torch.ones(7, 2);
        var error = Assert.Throws<ArgumentException>(() => Tucker.ModeProduct(x, wrong, 1));
        Assert.Contains("I×3", error.Message);
    }

    private static void Unravel(long flat, long[] shape, long[] index)
    {
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            index[i] = flat % shape[i];
            flat /= shape[i];
        }
    }
}
