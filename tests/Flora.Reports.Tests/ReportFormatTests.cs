
namespace Flora.Reports.Tests;

public sealed class ReportFormatTests
{
    [Theory]
    [InlineData(100.0, "100.0%")]
    [InlineData(2.5, "2.50%")]
    [InlineData(0.3464, "0.35%")]
    [InlineData(0.0451, "0.045%")]
    [InlineData(0.0012, "0.0012%")]
    [InlineData(0.0, "0%")]
    public void Share(double percent, string expected) => Assert.Equal(expected, ReportFormat.Share(percent));

    [Theory]
    [InlineData(0.4234, "+0.42")]
    [InlineData(-0.31, "\u22120.31")]
    [InlineData(-0.001, "+0.00")]
    [InlineData(1.156, "+1.16")]
    public void Signed(double value, string expected) => Assert.Equal(expected, ReportFormat.Signed(value));

    [Theory]
    [InlineData(512L, "512 B")]
    [InlineData(1_536L, "1.5 KiB")]
    [InlineData(157_286_400L, "150.0 MiB")]
    [InlineData(3_221_225_472L, "3.00 GiB")]
    public void Bytes(long bytes, string expected) => Assert.Equal(expected, ReportFormat.Bytes(bytes));

    [Theory]
    [InlineData(0.84, "0.84 s")]
    [InlineData(12.34, "12.3 s")]
    [InlineData(125.0, "2 min 05 s")]
    public void Seconds(double seconds, string expected) => Assert.Equal(expected, ReportFormat.Seconds(seconds));
}
