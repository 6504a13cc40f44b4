namespace Flora.Tests;

/// <summary>Small helpers the tests share: seeded random tensors and tolerant comparisons.</summary>
internal static class TestTensors
{
    /// <summary>Normal random values from a private generator (tests run in parallel; the global seed is shared).</summary>
    public static Tensor Randn(long[] shape, long seed, ScalarType dtype = ScalarType.Float32)
    {
        using var generator = new Generator((ulong)seed);
        using var values = torch.randn(shape, dtype: ScalarType.Float32, generator: generator);
        return values.to(dtype);
    }

    /// <summary>
    /// Gives every Linear and convolution of <paramref name="model"/> weights and biases from a private generator
    /// (scaled as TorchSharp's default initialisation, 1/√fan_in), so that a test model does not draw from torch's
    /// global generator, which tests on other threads share: its values, and what a test sees, are the same every run.
    /// </summary>
    public static void SeedLayers(nn.Module model, long seed)
    {
        using var noGrad = torch.no_grad();
        foreach (var (_, module) in model.named_modules())
        {
            var (weight, bias) = module switch
            {
                TorchSharp.Modules.Linear linear => (linear.weight, linear.bias),
                TorchSharp.Modules.Convolution convolution => (convolution.weight, convolution.bias),
                _ => (null, null),
            };
            if (weight is null) continue;
            double scale = 1 / System.Math.Sqrt(weight.numel() / weight.shape[0]);
            using (var values = Randn(weight.shape, seed++, weight.dtype)) weight.copy_(values * scale);
            if (bias is not null)
                using (var values = Randn(bias.shape, seed++, bias.dtype)) bias.copy_(values * scale);
        }
    }

    /// <summary>Gives an adapter's core random values so that its update is not zero.</summary>
    public static void RandomiseCore(FloraLayer adapter, long seed)
    {
        using var values = Randn(adapter.Core.shape, seed, adapter.Core.dtype);
        using (torch.no_grad()) adapter.Core.copy_(values);
    }

    /// <summary>Asserts |actual − expected| ≤ atol + rtol·|expected| everywhere, with the worst element in the message.</summary>
    public static void AssertClose(Tensor expected, Tensor actual, double rtol, double atol, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        using var e = expected.to(ScalarType.Float64);
        using var a = actual.to(ScalarType.Float64);
        using var error = (a - e).abs();
        using var allowed = e.abs() * rtol + atol;
        using var excess = error - allowed;
        double worst = excess.max().item<double>();
        double maxError = error.max().item<double>();
        Assert.True(worst <= 0, $"{what}: max |error| {maxError:G4} exceeds tolerance (rtol {rtol}, atol {atol}); max |expected| {e.abs().max().item<double>():G4}");
    }

    /// <summary>Asserts two tensors are equal bit for bit.</summary>
    public static void AssertBitEqual(Tensor expected, Tensor actual, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        Assert.Equal(expected.dtype, actual.dtype);
        using var e = expected.contiguous().cpu();
        using var a = actual.contiguous().cpu();
        Assert.True(e.bytes.SequenceEqual(a.bytes), $"{what}: tensors differ");
    }
}
