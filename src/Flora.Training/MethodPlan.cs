using System.Collections.Generic;
using System.Linq;

namespace Flora.Training;

/// <summary>One fine-tuning method of a comparison: what trains, at which budget, with which learning rate.</summary>
/// <param name="Label">The label in tables and plots, e.g. "FLoRA (budget A)".</param>
/// <param name="Kind">The method family.</param>
/// <param name="Budget">The budget label shared by FLoRA and the LoRA/DoRA matched to it; null for full fine-tuning and BitFit.</param>
/// <param name="Method">The adapter method; null for full fine-tuning (every parameter trains).</param>
/// <param name="Defaults">Model-wide FLoRA settings; LoRA and DoRA are matched to the FLoRA budget they give.</param>
/// <param name="LearningRate">Peak learning rate.</param>
public sealed record MethodPlan(string Label, MethodKind Kind, string? Budget, FloraMethod? Method, FloraModelOptions Defaults, double LearningRate)
{
    /// <summary>Patterns of modules that train fully beside the adapters and are saved in the adapter file (PEFT's modules_to_save).</summary>
    public IReadOnlyList<string> ModulesToSave { get; init; } = System.Array.Empty<string>();

    /// <summary>Budget A: rank 4 on out/in, R3 1 on kernel axes.</summary>
    public static FloraModelOptions BudgetA { get; } = new() { Rank = 4, R3 = 1, Scale = 4 };

    /// <summary>Budget B: rank 8 on out/in, R3 2 on kernel axes.</summary>
    public static FloraModelOptions BudgetB { get; } = new() { Rank = 8, R3 = 2, Scale = 4 };

    /// <summary>
    /// The paper's comparison at small scale: full fine-tuning, BitFit, and FLoRA, LoRA and DoRA at two matched budgets.
    /// Learning rates were chosen per method family on a held-out run (docs/results/README.md says how).
    /// </summary>
    public static IReadOnlyList<MethodPlan> Default() => new MethodPlan[]
    {
        new("Full fine-tuning", MethodKind.FullFineTuning, null, null, BudgetA, 1e-3),
        new("BitFit", MethodKind.BitFit, null, FloraMethod.BitFit, BudgetA, 1e-2),
        new("LoRA (budget A)", MethodKind.Lora, "A", FloraMethod.Lora, BudgetA, 5e-3),
        new("DoRA (budget A)", MethodKind.Dora, "A", FloraMethod.Dora, BudgetA, 5e-3),
        new("FLoRA (budget A)", MethodKind.Flora, "A", FloraMethod.Flora, BudgetA, 5e-3),
        new("LoRA (budget B)", MethodKind.Lora, "B", FloraMethod.Lora, BudgetB, 5e-3),
        new("DoRA (budget B)", MethodKind.Dora, "B", FloraMethod.Dora, BudgetB, 5e-3),
        new("FLoRA (budget B)", MethodKind.Flora, "B", FloraMethod.Flora, BudgetB, 5e-3),
    };

    /// <summary>
    /// The same methods for the ImageNet ResNet-18: every adapter method (BitFit included: the ResNet's convolutions have
    /// no biases) also trains and saves every BatchNorm layer (<see cref="FloraModelOptions.SaveNormLayers"/>) unless
    /// <paramref name="saveNormLayers"/> is false (BatchNorm kept frozen), and the new head <c>fc</c> trains in every
    /// method (the model's generated <c>[FloraModuleToSave]</c>). The rates are starting points only: the comparison
    /// chooses them per method on a validation split.
    /// </summary>
    public static IReadOnlyList<MethodPlan> ForResNet18(bool saveNormLayers = true) =>
        Default().Select(p => p.Method is null ? p : p with { Defaults = p.Defaults with { SaveNormLayers = saveNormLayers } }).ToArray();
}
