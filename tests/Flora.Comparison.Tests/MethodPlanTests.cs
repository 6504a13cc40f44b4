using Flora.Reports;

namespace Flora.Comparison.Tests;

/// <summary>The methods of a comparison: which ones, at which budgets.</summary>
public sealed class MethodPlanTests
{
    [Fact]
    public void The_default_comparison_has_full_fine_tuning_BitFit_and_three_adapters_at_two_budgets()
    {
        IReadOnlyList<MethodPlan> plans = MethodPlan.Default().Where(p => !p.IsOptIn).ToList();
        Assert.Equal(8, plans.Count);
        Assert.Equal(plans.Count, plans.Select(p => p.Label).Distinct().Count());
        Assert.Equal(new MethodPlan?[] { plans[0] }, plans.Where(p => p.Method is null));
        Assert.Equal(MethodKind.FullFineTuning, plans[0].Kind);
        Assert.All(plans, p => Assert.True(p.LearningRate > 0));
        foreach (var (budget, options) in new[] { ("A", MethodPlan.BudgetA), ("B", MethodPlan.BudgetB) })
        {
            var atBudget = plans.Where(p => p.Budget == budget).ToList();
            Assert.Equal(new[] { MethodKind.Lora, MethodKind.Dora, MethodKind.Flora }, atBudget.Select(p => p.Kind));
            Assert.All(atBudget, p => Assert.Equal(options, p.Defaults));
        }
    }

    [Fact]
    public void The_paper_baselines_follow_at_each_budget_opt_in_with_the_budget_they_are_sized_to()
    {
        IReadOnlyList<MethodPlan> plans = MethodPlan.Default();
        var optIn = plans.Where(p => p.IsOptIn).ToList();
        Assert.Equal(plans.Skip(8), optIn);
        foreach (var budget in MethodPlan.DefaultBudgets)
        {
            var atBudget = optIn.Where(p => p.Budget == budget.Name).ToList();
            Assert.Equal(new[] { MethodKind.Houlsby, MethodKind.Pfeiffer, MethodKind.AdaLora }, atBudget.Select(p => p.Kind));
            Assert.Equal(new FloraMethod?[] { FloraMethod.Houlsby, FloraMethod.Pfeiffer, FloraMethod.AdaLora }, atBudget.Select(p => p.Method));
            Assert.Equal(new[] { $"HAdapter (budget {budget.Name})", $"PAdapter (budget {budget.Name})", $"AdaLoRA (budget {budget.Name})" }, atBudget.Select(p => p.Label));
            Assert.All(atBudget, p => Assert.Equal(budget.Options, p.Defaults));
        }
    }

    [Fact]
    public void The_ResNet18_plans_train_and_save_the_norm_layers_with_every_adapter_method()
    {
        IReadOnlyList<MethodPlan> plans = MethodPlan.ForResNet18();
        Assert.Equal(MethodPlan.Default().Select(p => p.Label), plans.Select(p => p.Label));
        Assert.All(plans.Where(p => p.Method is not null), p => Assert.True(p.Defaults.SaveNormLayers));
        Assert.False(MethodPlan.BudgetA.SaveNormLayers);
    }
}
