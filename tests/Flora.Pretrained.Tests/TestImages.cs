namespace Flora.Pretrained.Tests;

/// <summary>
/// Procedurally drawn RGB images in [0, 1] (no data sets, nothing downloaded): gradients, discs, stripes and a
/// checkerboard drawn at 56×56 and upscaled to the requested size, and uniform noise.
/// </summary>
internal static class TestImages
{
    /// <summary><paramref name="count"/> structured images <c>[count, 3, size, size]</c>.</summary>
    public static Tensor Structured(int count, int size = 224)
    {
        const int n = 56;
        using var scope = NewDisposeScope();
        var y = linspace(0, 1, n).view(n, 1).expand(n, n);
        var x = linspace(0, 1, n).view(1, n).expand(n, n);
        var images = new List<Tensor>();
        for (int i = 0; i < count; i++)
        {
            double cx = 0.3 + 0.4 * ((i * 37) % 10) / 10.0, cy = 0.3 + 0.4 * ((i * 53) % 10) / 10.0, radius = 0.15 + 0.02 * (i % 5);
            var disc = ((x - cx).square() + (y - cy).square()).lt(radius * radius).to(ScalarType.Float32);
            var stripes = sin(x * (6.0 + i) * Math.PI + y * 3.0 * i).mul(0.5).add(0.5);
            var checker = ((x * 8).floor() + (y * 8).floor()).remainder(2);
            var r = (x * (1 - disc) + disc * 0.9).clamp(0, 1);
            var g = (stripes * 0.7 + y * 0.3).clamp(0, 1);
            var b = (checker * 0.5 + (1 - x) * 0.5 * (1 - disc)).clamp(0, 1);
            images.Add(stack(new[] { r, g, b }));
        }
        var small = stack(images.ToArray());
        return nn.functional.interpolate(small, new long[] { size, size }, mode: InterpolationMode.Bilinear, align_corners: false)
            .clamp(0, 1).MoveToOuterDisposeScope();
    }

    /// <summary><paramref name="count"/> uniform-noise images <c>[count, 3, size, size]</c> from <paramref name="seed"/>.</summary>
    public static Tensor Random(int count, int seed, int size = 224)
    {
        using var generator = new Generator((ulong)seed);
        return rand(new long[] { count, 3, size, size }, generator: generator);
    }

    /// <summary>max |a − b| / max |b|.</summary>
    public static double RelativeError(Tensor actual, Tensor expected)
    {
        using var scope = NewDisposeScope();
        return (actual - expected).abs().max().ToDouble() / expected.abs().max().ToDouble();
    }
}
