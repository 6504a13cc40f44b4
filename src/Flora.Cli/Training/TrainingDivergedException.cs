using System;

namespace Flora.Cli.Training;

/// <summary>
/// The training loss became NaN or infinite: the learning rate is too high for the method. The learning-rate search
/// records such a rate as diverged; elsewhere the CLI reports the message and stops.
/// </summary>
internal sealed class TrainingDivergedException : InvalidOperationException
{
    /// <summary>The loss <paramref name="loss"/> at step <paramref name="step"/> (1-based) of epoch <paramref name="epoch"/>.</summary>
    public TrainingDivergedException(double loss, int epoch, int step)
        : base($"the training loss became {loss} at epoch {epoch}, step {step}: lower the learning rate")
    {
    }
}
