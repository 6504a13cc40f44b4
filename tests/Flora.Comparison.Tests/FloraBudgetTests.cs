using Flora.Reports;

namespace Flora.Comparison.Tests;

/// <summary>A sweep's budgets: their command-line form and the plans they make.</summary>
public sealed class FloraBudgetTests
{
    [Theory]
    [InlineData("8:2", 8, 2, 4.0, "r8 R3=2")]
    [InlineData("16", 16, 1, 4.0, "r16 R3=1")]
    [InlineData(" 32:2:0.4 ", 32, 2, 0.4, "r32 R3=2")]
    [InlineData("4:1:1e-1", 4, 1, 0.1, "r4 R3=1")]
    public void The_command_line_form_is_rank_R3_and_an_optional_scale(string text, int rank, int r3, double scale, string name)
    {
        var budget = FloraBudget.Parse(text);
        Assert.Equal(new FloraBudget(name, rank, r3, scale), budget);
        Assert.Equal(new FloraModelOptions { Rank = rank, R3 = r3, Scale = scale }, budget.Options);
    }

    [Theory]
    [InlineData("", "RANK must be a whole number")]
    [InlineData("8x2", "RANK must be a whole number")]
    [InlineData("0:1", "RANK must be a whole number of at least 1, got '0'")]
    [InlineData("8:-2", "R3 must be a whole number of at least 1, got '-2'")]
    [InlineData("8:2:0", "SCALE must be a positive number, got '0'")]
    [InlineData("8:2:nan", "SCALE must be a positive number")]
    [InlineData("8:2:4:1", "write RANK:R3 or RANK:R3:SCALE")]
    public void A_malformed_budget_says_what_to_write(string text, string expected)
    {
        var error = Assert.Throws<FormatException>(() => FloraBudget.Parse(text));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Contains($"budget '{text}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_sweep_has_LoRA_DoRA_and_FLoRA_per_budget_then_the_paper_baselines_and_a_scale_variant_shares_the_matched_baselines()
    {
        var budgets = new[] { "4:1", "16:2", "16:2:0.4" }.Select(FloraBudget.Parse).ToArray();
        var plans = MethodPlan.Comparison(budgets);
        Assert.Equal(new[]
        {
            "Full fine-tuning", "BitFit",
            "LoRA (budget r4 R3=1)", "DoRA (budget r4 R3=1)", "FLoRA (budget r4 R3=1)",
            "LoRA (budget r16 R3=2)", "DoRA (budget r16 R3=2)", "FLoRA (budget r16 R3=2)", "FLoRA s=0.4 (budget r16 R3=2)",
            "HAdapter (budget r4 R3=1)", "PAdapter (budget r4 R3=1)", "AdaLoRA (budget r4 R3=1)",
            "HAdapter (budget r16 R3=2)", "PAdapter (budget r16 R3=2)", "AdaLoRA (budget r16 R3=2)",
        }, plans.Select(p => p.Label));
        var variant = plans.Single(p => p.Label == "FLoRA s=0.4 (budget r16 R3=2)");
        Assert.Equal(("r16 R3=2", 0.4, 16, 2), (variant.Budget, variant.Defaults.Scale, variant.Defaults.Rank, variant.Defaults.R3));
        // LoRA and DoRA are matched to the budget's first configuration (the scale does not change FLoRA's count).
        Assert.All(plans.Where(p => p.Budget == "r16 R3=2" && p.Kind != MethodKind.Flora), p => Assert.Equal(4.0, p.Defaults.Scale));
        Assert.Equal(MethodPlan.Default().Select(p => p.Label), MethodPlan.Comparison(MethodPlan.DefaultBudgets).Select(p => p.Label));
    }

    [Fact]
    public void A_budget_given_twice_or_no_budget_is_refused()
    {
        var twice = Assert.Throws<ArgumentException>(() => MethodPlan.Comparison(new[] { FloraBudget.Parse("8:2"), FloraBudget.Parse("8:2:4") }));
        Assert.Contains("'FLoRA (budget r8 R3=2)' is given twice", twice.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => MethodPlan.Comparison(Array.Empty<FloraBudget>()));
    }

    [Fact]
    public void The_ResNet18_sweep_keeps_or_freezes_the_norm_layers_for_every_adapter_method()
    {
        var budgets = new[] { FloraBudget.Parse("32:2") };
        Assert.All(MethodPlan.ForResNet18(budgets, saveNormLayers: true).Where(p => p.Method is not null), p => Assert.True(p.Defaults.SaveNormLayers));
        Assert.All(MethodPlan.ForResNet18(budgets, saveNormLayers: false).Where(p => p.Method is not null), p => Assert.False(p.Defaults.SaveNormLayers));
    }
}
