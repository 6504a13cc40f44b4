using Flora.Tests.Injection;
using Flora.Tests.Peft;

namespace Flora.Tests.Baselines;

/// <summary>
/// A baseline whose size is matched to FLoRA's trainable count (LoRA's and DoRA's rank, Houlsby's and Pfeiffer's
/// bottleneck width, AdaLoRA's target rank) needs FLoRA's settings to be valid, and only then: the refusal says so,
/// names the setting that lets the baseline do without FLoRA's budget, and leaves the model as it was; with that
/// setting given, the same FLoRA settings do not matter.
/// </summary>
public sealed class MatchedBudgetRefusalTests
{
    /// <summary>conv1 is 3×3: an explicit R3 of 9 is what FLoRA refuses (FLORA004's rule).</summary>
    private static FloraConfig WithRefusedFloraR3(FloraModelOptions defaults) => TinyNet.Config(defaults) with
    {
        Overrides = new[] { ("conv1", new FloraTargetOptions { R3 = 9 }) },
    };

    public static TheoryData<FloraMethod, string, string> Methods => new()
    {
        { FloraMethod.Lora, "LoRA's rank of '", "LoraRank" },
        { FloraMethod.Dora, "DoRA's rank of '", "LoraRank" },
        { FloraMethod.Houlsby, "Houlsby's bottleneck width of '", "AdapterSize" },
        { FloraMethod.Pfeiffer, "Pfeiffer's bottleneck width of '", "AdapterSize" },
        { FloraMethod.AdaLora, "AdaLoRA's target rank of '", "AdaLoraOptions.TargetRank" },
    };

    [Theory]
    [MemberData(nameof(Methods))]
    public void A_matched_size_refuses_FLoRA_settings_FLoRA_refuses_and_names_the_setting_that_avoids_them(FloraMethod method, string matched, string setting)
    {
        using var model = new TinyNet();
        var before = RuleResNet.Snapshot(model);

        var error = Assert.Throws<ArgumentException>(() => FloraInjector.Attach(model, WithRefusedFloraR3(new FloraModelOptions { Rank = 4, AdaLora = new AdaLoraOptions { TotalSteps = 20 } }), method));

        Assert.StartsWith("R3 9 of 'conv1' exceeds", error.Message, StringComparison.Ordinal);
        Assert.Contains(matched, error.Message, StringComparison.Ordinal);
        Assert.Contains($"is matched to FLoRA's trainable count for it ({setting} is unset)", error.Message, StringComparison.Ordinal);
        Assert.Contains($"set {setting} to choose the", error.Message, StringComparison.Ordinal);
        RuleResNet.AssertUnchanged(before, model);
        Assert.All(model.parameters(), p => Assert.True(p.requires_grad));
    }

    public static TheoryData<FloraMethod> MatchedMethods => new() { FloraMethod.Lora, FloraMethod.Dora, FloraMethod.Houlsby, FloraMethod.Pfeiffer, FloraMethod.AdaLora };

    [Theory]
    [MemberData(nameof(MatchedMethods))]
    public void A_given_size_does_not_read_FLoRA_settings(FloraMethod method)
    {
        var sizeGiven = method switch
        {
            FloraMethod.Lora or FloraMethod.Dora => new FloraModelOptions { Rank = 4, LoraRank = 2 },
            FloraMethod.Houlsby or FloraMethod.Pfeiffer => new FloraModelOptions { Rank = 4, AdapterSize = 3 },
            _ => new FloraModelOptions { Rank = 4, AdaLora = new AdaLoraOptions { TargetRank = 2, TotalSteps = 20 } },
        };
        using var model = new TinyNet();

        var attachment = FloraInjector.Attach(model, WithRefusedFloraR3(sizeGiven), method);

        Assert.Equal(method, attachment.Method);
        Assert.NotEmpty(attachment.Adapters);
        Assert.All(attachment.Adapters, adapter => Assert.Equal(method switch { FloraMethod.Houlsby or FloraMethod.Pfeiffer => 3, _ => 2 }, adapter switch
        {
            LoraLayer lora => lora.Config.Rank,
            BottleneckAdapterLayer bottleneck => bottleneck.Size,
            AdaLoraLayer adaLora => adaLora.Config.TargetRank,
            _ => throw new InvalidOperationException($"{adapter.Name} is a {adapter.GetType().Name}"),
        }));
        attachment.Detach();
    }
}
