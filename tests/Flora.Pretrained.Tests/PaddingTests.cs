namespace Flora.Pretrained.Tests;

/// <summary>
/// The original graph pads its stride-2 layers asymmetrically (conv1 begin 3 end 2, 3×3 convs and the max pool begin
/// 1 end 0); the network keeps torchvision's symmetric padding. Both agree exactly on even sizes; on odd sizes the
/// symmetric form has one more output row (the original's output is its first rows), and the original graph's
/// shortcut additions would not broadcast there, so sizes that are multiples of 32 are the exact ones.
/// </summary>
public sealed class PaddingTests
{
    [Theory]
    [InlineData(7, 3, 2, 224)]
    [InlineData(3, 1, 0, 56)]
    [InlineData(3, 1, 0, 14)]
    public void Asymmetric_padding_equals_symmetric_on_even_sizes_and_is_its_first_rows_on_odd(int k, int begin, int end, int size)
    {
        using var scope = NewDisposeScope();
        var weight = randn(4, 3, k, k);
        foreach (int n in new[] { size, size + 1 })
        {
            var x = randn(1, 3, n, n);
            var asymmetric = nn.functional.conv2d(nn.functional.pad(x, new long[] { begin, end, begin, end }), weight, strides: new long[] { 2, 2 });
            var symmetric = nn.functional.conv2d(x, weight, strides: new long[] { 2, 2 }, padding: new long[] { begin, begin });
            if (n % 2 == 0)
                Assert.Equal(symmetric.shape, asymmetric.shape);
            else
                Assert.Equal(symmetric.shape[2] - 1, asymmetric.shape[2]);
            var cropped = symmetric.narrow(2, 0, asymmetric.shape[2]).narrow(3, 0, asymmetric.shape[3]);
            Assert.True((cropped - asymmetric).abs().max().ToDouble() < 1e-5);
        }
    }

    [Fact]
    public void Max_pool_padding_agrees_the_same_way()
    {
        using var scope = NewDisposeScope();
        var x = randn(1, 2, 112, 112);
        var asymmetric = nn.functional.max_pool2d(nn.functional.pad(x, new long[] { 1, 0, 1, 0 }, value: double.NegativeInfinity), new long[] { 3, 3 }, new long[] { 2, 2 });
        var symmetric = nn.functional.max_pool2d(x, new long[] { 3, 3 }, new long[] { 2, 2 }, new long[] { 1, 1 });
        Assert.Equal(symmetric.shape, asymmetric.shape);
        Assert.Equal(0, (symmetric - asymmetric).abs().max().ToDouble());
    }
}
