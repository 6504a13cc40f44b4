using System;
using System.Diagnostics;

namespace Flora.Cli.Training;

/// <summary>
/// Peak memory of a run, as far as it can be measured honestly: on the CPU the growth of the process's resident set
/// over the run (sampled every step), which includes the allocator's caching; null where nothing reliable exists.
/// </summary>
public sealed class MemoryProbe
{
    private readonly Process _process = Process.GetCurrentProcess();
    private readonly long _baseline;
    private long _peak;

    /// <summary>Starts measuring from the current resident set.</summary>
    public MemoryProbe()
    {
        _process.Refresh();
        _baseline = _process.WorkingSet64;
        _peak = _baseline;
    }

    /// <summary>Takes one sample.</summary>
    public void Sample()
    {
        _process.Refresh();
        _peak = Math.Max(_peak, _process.WorkingSet64);
    }

    /// <summary>Bytes the resident set grew by at its peak during the run.</summary>
    public long PeakGrowthBytes => Math.Max(0, _peak - _baseline);
}
