using Xunit.Abstractions;

namespace Flora.Tests.Baselines;

/// <summary>The attachment summary of a small ConvNeXt-style model under every method, at the matched budget.</summary>
public class SummaryTests(ITestOutputHelper output)
{
    /// <summary>
    /// Per target (Rank 4, R3 2): FLoRA counts, then LoRA and DoRA at the closest count (see <see cref="BudgetMatchingTests"/>).
    /// stem [16, 3, 4, 4]: ranks (4, 3, 2, 2), 48 + 64 + 9 + 8 + 8 = 137; LoRA 64r → r=2 128; DoRA 64r + 16 → r=2 144.
    /// dw [16, 1, 7, 7]: ranks (4, 1, 2, 2), 16 + 64 + 1 + 14 + 14 = 109; LoRA 65r → r=2 130; DoRA 65r + 16 → r=1 81.
    /// pw1 [64, 16]: 16 + 256 + 64 = 336; LoRA 80r → r=4 320; DoRA 80r + 64 → r=3 304.
    /// pw2 [16, 64]: 336; LoRA r=4 320; DoRA 80r + 16 → r=4 336.
    /// down [32, 16, 2, 2]: 64 + 128 + 64 + 4 + 4 = 264; LoRA 96r → r=3 288; DoRA 96r + 32 → r=2 224.
    /// head [10, 32]: 16 + 40 + 128 = 184; LoRA 42r → r=4 168; DoRA 42r + 10 → r=4 178.
    /// BitFit: the biases, 16 + 16 + 64 + 16 + 32 + 10.
    /// Houlsby at the width m whose 2·c·m + m + c (c the output channels) is closest: stem 33m + 16 → m=4 148; dw → m=3 115;
    /// pw1 129m + 64 → m=2 322; pw2 33m + 16 → m=10 346; down 65m + 32 → m=4 292; head 21m + 10 → m=8 178.
    /// </summary>
    public static TheoryData<FloraMethod, long, string[]> Expected() => new()
    {
        { FloraMethod.Flora, 137 + 109 + 336 + 336 + 264 + 184, new[] { "r=(4,3,2,2)", "r=(4,1,2,2)", "r=(4,4)" } },
        { FloraMethod.Lora, 128 + 130 + 320 + 320 + 288 + 168, new[] { "r=2 α=2", "r=4 α=4", "r=3 α=3" } },
        { FloraMethod.Dora, 144 + 81 + 304 + 336 + 224 + 178, new[] { "r=1 α=1", "r=2 α=2", "r=3 α=3", "r=4 α=4" } },
        { FloraMethod.BitFit, 16 + 16 + 64 + 16 + 32 + 10, new[] { "bias[16]", "bias[64]", "bias[32]", "bias[10]" } },
        { FloraMethod.Houlsby, 148 + 115 + 322 + 346 + 292 + 178, new[] { "m=4 swish", "m=3 swish", "m=2 swish", "m=10 swish", "m=8 swish" } },
    };

    [Theory]
    [MemberData(nameof(Expected))]
    public void The_summary_lists_every_target_and_the_matched_total(FloraMethod method, long total, string[] details)
    {
        using var model = new MiniConvNext();
        model.eval();
        using var x = TestTensors.Randn(new long[] { 2, 3, 32, 32 }, seed: 1);
        using var before = model.forward(x);
        var attachment = FloraInjector.Attach(model, MiniConvNext.Config(), method);
        string table = attachment.ToString();
        output.WriteLine($"FloraMethod.{method}:");
        output.WriteLine(table);
        foreach (var adapter in attachment.Adapters.OfType<LoraLayer>())
            output.WriteLine($"  {adapter.Name}: {adapter.Config.MatchedBudget}");

        Assert.Equal(total, attachment.TrainableParameters);
        Assert.EndsWith(total.ToString("N0"), table);
        foreach (var name in MiniConvNext.TargetNames) Assert.Contains(name, table);
        foreach (var detail in details) Assert.Contains(detail, table);
        Assert.Equal(MiniConvNext.TargetNames.Length + 2, table.Split('\n').Length);
        using var after = model.forward(x);
        TestTensors.AssertBitEqual(before, after, $"{method} at attach");
    }
}
