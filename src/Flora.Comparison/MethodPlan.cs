using System;
using System.Collections.Generic;
using System.Linq;
using Flora.Reports;

namespace Flora.Comparison;

/// <summary>One fine-tuning method of a comparison: what trains, at which budget, with which learning rate.</summary>
/// <param name="Label">The label in tables and plots, e.g. "FLoRA (budget A)".</param>
/// <param name="Kind">The method family.</param>
/// <param name="Budget">The budget label shared by FLoRA and the LoRA/DoRA matched to it; null for full fine-tuning and BitFit.</param>
/// <param name="Method">The adapter method; null for full fine-tuning (every parameter trains).</param>
/// <param name="Defaults">Model-wide FLoRA settings; LoRA and DoRA are matched to the FLoRA budget they give.</param>
/// <param name="LearningRate">Peak learning rate.</param>
public sealed record MethodPlan(string Label, MethodKind Kind, string? Budget, FloraMethod? Method, FloraModelOptions Defaults, double LearningRate)
{
    /// <summary>
    /// Whether the method runs only when asked for by name (<c>--methods</c>): the paper's other baselines (HAdapter,
    /// PAdapter, AdaLoRA) are not in the default comparison.
    /// </summary>
    public bool IsOptIn => Kind is MethodKind.Houlsby or MethodKind.Pfeiffer or MethodKind.AdaLora;

    /// <summary>Patterns of modules that train fully beside the adapters and are saved in the adapter file (PEFT's modules_to_save).</summary>
    public IReadOnlyList<string> ModulesToSave { get; init; } = System.Array.Empty<string>();

    /// <summary>Budget A: rank 4 on out/in, R3 1 on kernel axes (<see cref="FloraBudget.A"/>).</summary>
    public static FloraModelOptions BudgetA { get; } = FloraBudget.A.Options;

    /// <summary>Budget B: rank 8 on out/in, R3 2 on kernel axes (<see cref="FloraBudget.B"/>).</summary>
    public static FloraModelOptions BudgetB { get; } = FloraBudget.B.Options;

    /// <summary>The default comparison's budgets: A and B.</summary>
    public static IReadOnlyList<FloraBudget> DefaultBudgets { get; } = new[] { FloraBudget.A, FloraBudget.B };

    /// <summary>
    /// The paper's comparison at small scale: full fine-tuning, BitFit, and FLoRA, LoRA and DoRA at two matched budgets.
    /// Learning rates were chosen per method family on a held-out run (docs/results/README.md says how).
    /// </summary>
    public static IReadOnlyList<MethodPlan> Default() => Comparison(DefaultBudgets);

    /// <summary>
    /// Full fine-tuning, BitFit, then per budget name LoRA and DoRA (matched to the first budget of that name) and FLoRA
    /// at each budget of that name (a scale other than <see cref="FloraBudget.DefaultScale"/> is named in its label):
    /// a budget sweep when <paramref name="budgets"/> are many; then the opt-in <see cref="PaperBaselines"/> per budget
    /// name. The rates are the default comparison's starting points.
    /// </summary>
    /// <exception cref="ArgumentException">No budget, or two budgets with the same name and scale.</exception>
    public static IReadOnlyList<MethodPlan> Comparison(IReadOnlyList<FloraBudget> budgets)
    {
        ArgumentNullException.ThrowIfNull(budgets);
        if (budgets.Count == 0) throw new ArgumentException("a comparison needs at least one budget", nameof(budgets));
        var repeated = budgets.GroupBy(b => b.FloraLabel).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null) throw new ArgumentException($"the budget '{repeated.Key}' is given twice", nameof(budgets));
        var plans = new List<MethodPlan>
        {
            new("Full fine-tuning", MethodKind.FullFineTuning, null, null, budgets[0].Options, 1e-3),
            new("BitFit", MethodKind.BitFit, null, FloraMethod.BitFit, budgets[0].Options, 1e-2),
        };
        foreach (var named in budgets.GroupBy(b => b.Name))
        {
            var first = named.First();
            plans.Add(new($"LoRA (budget {first.Name})", MethodKind.Lora, first.Name, FloraMethod.Lora, first.Options, 5e-3));
            plans.Add(new($"DoRA (budget {first.Name})", MethodKind.Dora, first.Name, FloraMethod.Dora, first.Options, 5e-3));
            plans.AddRange(named.Select(b => new MethodPlan(b.FloraLabel, MethodKind.Flora, b.Name, FloraMethod.Flora, b.Options, 5e-3)));
        }
        foreach (var named in budgets.GroupBy(b => b.Name))
            plans.AddRange(PaperBaselines(named.First()));
        return plans;
    }

    /// <summary>
    /// The paper's other baselines at <paramref name="budget"/> (each sized to its FLoRA budget): HAdapter (Houlsby),
    /// PAdapter (Pfeiffer) and AdaLoRA, opt-in (<see cref="IsOptIn"/>), starting at the adapter methods' rate: on the
    /// CPU comparison (2 epochs) AdapterHub's usual 1e-3 left HAdapter at 50 % against 73 % at 5e-3.
    /// </summary>
    public static IEnumerable<MethodPlan> PaperBaselines(FloraBudget budget)
    {
        ArgumentNullException.ThrowIfNull(budget);
        yield return new($"HAdapter (budget {budget.Name})", MethodKind.Houlsby, budget.Name, FloraMethod.Houlsby, budget.Options, 5e-3);
        yield return new($"PAdapter (budget {budget.Name})", MethodKind.Pfeiffer, budget.Name, FloraMethod.Pfeiffer, budget.Options, 5e-3);
        yield return new($"AdaLoRA (budget {budget.Name})", MethodKind.AdaLora, budget.Name, FloraMethod.AdaLora, budget.Options, 5e-3);
    }

    /// <summary>
    /// The same methods for the ImageNet ResNet-18: every adapter method (BitFit included: the ResNet's convolutions have
    /// no biases) also trains and saves every BatchNorm layer (<see cref="FloraModelOptions.SaveNormLayers"/>) unless
    /// <paramref name="saveNormLayers"/> is false (BatchNorm kept frozen), and the new head <c>fc</c> trains in every
    /// method (the model's generated <c>[FloraModuleToSave]</c>). The rates are starting points only: the comparison
    /// chooses them per method on a validation split.
    /// </summary>
    public static IReadOnlyList<MethodPlan> ForResNet18(bool saveNormLayers = true) => ForResNet18(DefaultBudgets, saveNormLayers);

    /// <summary><see cref="ForResNet18(bool)"/> at <paramref name="budgets"/> (<see cref="Comparison"/>).</summary>
    public static IReadOnlyList<MethodPlan> ForResNet18(IReadOnlyList<FloraBudget> budgets, bool saveNormLayers = true) =>
        Comparison(budgets).Select(p => p.Method is null ? p : p with { Defaults = p.Defaults with { SaveNormLayers = saveNormLayers } }).ToArray();
}
