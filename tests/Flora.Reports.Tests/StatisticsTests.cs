
namespace Flora.Reports.Tests;

public sealed class StatisticsTests
{
    [Theory]
    [InlineData(0.975, 1, 12.7062047)]
    [InlineData(0.975, 2, 4.3026527)]
    [InlineData(0.975, 3, 3.1824463)]
    [InlineData(0.975, 4, 2.7764451)]
    [InlineData(0.975, 9, 2.2621572)]
    [InlineData(0.975, 30, 2.0422725)]
    [InlineData(0.975, 100, 1.9839715)]
    [InlineData(0.995, 5, 4.0321430)]
    [InlineData(0.95, 10, 1.8124611)]
    public void StudentTQuantileMatchesTables(double p, int df, double expected)
    {
        Assert.Equal(expected, Statistics.StudentTQuantile(p, df), 5);
    }

    [Fact]
    public void StudentTQuantileIsSymmetricAndZeroAtTheMedian()
    {
        Assert.Equal(-2.7764451, Statistics.StudentTQuantile(0.025, 4), 5);
        Assert.Equal(0.0, Statistics.StudentTQuantile(0.5, 7));
        Assert.Equal(0.5, Statistics.StudentTCdf(0.0, 3), 12);
        Assert.Equal(0.975, Statistics.StudentTCdf(2.2621572, 9), 6);
    }

    [Fact]
    public void StudentTQuantileApproachesTheNormalForLargeDf()
    {
        Assert.Equal(1.959964, Statistics.StudentTQuantile(0.975, 1e7), 4);
    }

    [Fact]
    public void StudentTQuantileRejectsBadArguments()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Statistics.StudentTQuantile(1.0, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Statistics.StudentTQuantile(0.975, 0));
    }

    [Fact]
    public void MeanAndSampleStandardDeviation()
    {
        Assert.Equal(3.0, Statistics.Mean([1.0, 2.0, 3.0, 4.0, 5.0]), 12);
        Assert.Equal(Math.Sqrt(2.5), Statistics.SampleStandardDeviation([1.0, 2.0, 3.0, 4.0, 5.0]), 12);
        Assert.Equal(0.0, Statistics.SampleStandardDeviation([42.0]));
        Assert.True(double.IsNaN(Statistics.Mean([])));
        Assert.True(double.IsNaN(Statistics.SampleStandardDeviation([])));
    }
}
