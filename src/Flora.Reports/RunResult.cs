using System;
using System.Collections.Generic;

namespace Flora.Reports;

/// <summary>
/// The raw result of one training run (one method, one budget, one seed).
/// Accuracies are fractions in [0, 1]; the reports show them in percent.
/// </summary>
/// <param name="Method">Display label, unique per method and budget, e.g. "FLoRA (budget A)". Runs with the same label are seeds of one method.</param>
/// <param name="Kind">The method family.</param>
/// <param name="Budget">Budget label (e.g. "A"), or null where the method has no budget (full fine-tuning, BitFit).</param>
/// <param name="Seed">The seed; runs of two methods with the same seed are paired.</param>
/// <param name="TrainableParameters">Parameters that train.</param>
/// <param name="TotalParameters">All parameters of the model as run (base plus adapters); the "% of model" is trainable / total.</param>
/// <param name="EpochTestAccuracy">Test accuracy after each epoch, fractions in [0, 1].</param>
/// <param name="FinalTestAccuracy">Final test accuracy, a fraction in [0, 1].</param>
/// <param name="EpochTrainLoss">Mean training loss of each epoch.</param>
/// <param name="SecondsPerEpoch">Mean wall-clock seconds per epoch.</param>
/// <param name="PeakMemoryBytes">Peak memory in bytes, or null where unknown.</param>
public sealed record RunResult(
    string Method,
    MethodKind Kind,
    string? Budget,
    int Seed,
    long TrainableParameters,
    long TotalParameters,
    IReadOnlyList<double> EpochTestAccuracy,
    double FinalTestAccuracy,
    IReadOnlyList<double> EpochTrainLoss,
    double SecondsPerEpoch,
    long? PeakMemoryBytes)
{
    /// <summary>Display label of the method and budget.</summary>
    public string Method { get; init; } = string.IsNullOrWhiteSpace(Method)
        ? throw new ArgumentException("The method label is empty.", nameof(Method))
        : Method;

    /// <summary>Parameters that train.</summary>
    public long TrainableParameters { get; init; } = TrainableParameters >= 0
        ? TrainableParameters
        : throw new ArgumentOutOfRangeException(nameof(TrainableParameters), TrainableParameters, "Negative parameter count.");

    /// <summary>All parameters of the model as run.</summary>
    public long TotalParameters { get; init; } = TotalParameters > 0 && TotalParameters >= TrainableParameters
        ? TotalParameters
        : throw new ArgumentOutOfRangeException(nameof(TotalParameters), TotalParameters, "The total must be positive and at least the trainable count.");

    /// <summary>Test accuracy after each epoch, fractions in [0, 1].</summary>
    public IReadOnlyList<double> EpochTestAccuracy { get; init; } = CheckAccuracies(EpochTestAccuracy, nameof(EpochTestAccuracy));

    /// <summary>Final test accuracy, a fraction in [0, 1].</summary>
    public double FinalTestAccuracy { get; init; } = FinalTestAccuracy is >= 0.0 and <= 1.0
        ? FinalTestAccuracy
        : throw new ArgumentOutOfRangeException(nameof(FinalTestAccuracy), FinalTestAccuracy, "Accuracy must be a fraction in [0, 1].");

    /// <summary>Mean training loss of each epoch.</summary>
    public IReadOnlyList<double> EpochTrainLoss { get; init; } = EpochTrainLoss ?? throw new ArgumentNullException(nameof(EpochTrainLoss));

    /// <summary>Mean wall-clock seconds per epoch.</summary>
    public double SecondsPerEpoch { get; init; } = SecondsPerEpoch >= 0.0 && double.IsFinite(SecondsPerEpoch)
        ? SecondsPerEpoch
        : throw new ArgumentOutOfRangeException(nameof(SecondsPerEpoch), SecondsPerEpoch, "Seconds per epoch must be finite and non-negative.");

    /// <summary>Peak memory in bytes, or null where unknown.</summary>
    public long? PeakMemoryBytes { get; init; } = PeakMemoryBytes is null or >= 0
        ? PeakMemoryBytes
        : throw new ArgumentOutOfRangeException(nameof(PeakMemoryBytes), PeakMemoryBytes, "Negative memory.");

    private static IReadOnlyList<double> CheckAccuracies(IReadOnlyList<double> values, string name)
    {
        ArgumentNullException.ThrowIfNull(values, name);
        for (int i = 0; i < values.Count; i++)
        {
            if (values[i] is not (>= 0.0 and <= 1.0))
            {
                throw new ArgumentOutOfRangeException(name, values[i], $"Epoch {i + 1}: accuracy must be a fraction in [0, 1].");
            }
        }
        return values;
    }
}
