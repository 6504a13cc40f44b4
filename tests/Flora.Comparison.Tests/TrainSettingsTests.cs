namespace Flora.Comparison.Tests;

/// <summary>The training settings' checks: each bad value is named.</summary>
public sealed class TrainSettingsTests
{
    [Fact]
    public void The_defaults_are_valid() => new TrainSettings().Validate();

    public static TheoryData<TrainSettings, string> Invalid => new()
    {
        { new TrainSettings { Epochs = 0 }, "epochs" },
        { new TrainSettings { BatchSize = 0 }, "batch size" },
        { new TrainSettings { LearningRate = 0 }, "learning rate" },
        { new TrainSettings { LearningRate = double.PositiveInfinity }, "learning rate" },
        { new TrainSettings { WarmupFraction = 1 }, "warm-up fraction" },
        { new TrainSettings { ClipNorm = 0 }, "clipping norm" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void A_bad_value_is_refused_by_name(TrainSettings settings, string name)
    {
        var error = Assert.Throws<ArgumentException>(settings.Validate);
        Assert.Contains(name, error.Message);
    }
}
