using System;

namespace Flora.Cli.Training;

/// <summary>Linear warm-up to the peak learning rate, then cosine decay to zero over the remaining steps.</summary>
internal sealed class CosineSchedule
{
    private readonly double _peak;
    private readonly long _warmup, _total;

    /// <summary>A schedule over <paramref name="totalSteps"/> steps with <paramref name="warmupSteps"/> of warm-up.</summary>
    public CosineSchedule(double peak, long warmupSteps, long totalSteps)
    {
        if (totalSteps < 1) throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, "at least one step");
        _peak = peak;
        _warmup = Math.Clamp(warmupSteps, 0, totalSteps - 1);
        _total = totalSteps;
    }

    /// <summary>The learning rate of step <paramref name="step"/> (0-based).</summary>
    public double At(long step)
    {
        if (step < _warmup) return _peak * (step + 1) / _warmup;
        double progress = (double)(step - _warmup) / Math.Max(1, _total - _warmup);
        return _peak * 0.5 * (1 + Math.Cos(Math.PI * Math.Min(1.0, progress)));
    }
}
