using System;
using System.Diagnostics;
using System.IO;
using System.Runtime.InteropServices;

namespace Flora.Cli.Training;

/// <summary>
/// Peak memory of a run on the CPU: how far the process's resident set rose above its size at the run's start. On Linux
/// the start is made comparable between runs — the .NET heap collected and glibc told to return its free memory to the
/// system (<c>malloc_trim</c>), so memory an earlier run left cached does not hide this run's allocations — and the peak
/// is the kernel's own high-water mark (<c>VmHWM</c>, reset at the start through <c>/proc/self/clear_refs</c>), not a
/// sample. Elsewhere the resident set is sampled at every step (a lower bound).
/// </summary>
internal sealed class MemoryProbe
{
    private readonly Process _process = Process.GetCurrentProcess();
    private readonly bool _kernelPeak;
    private readonly long _baseline;
    private long _sampledPeak;

    /// <summary>Starts measuring from the current resident set.</summary>
    public MemoryProbe()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        _kernelPeak = OperatingSystem.IsLinux() && TryResetKernelPeak();
        _process.Refresh();
        _baseline = _kernelPeak ? ReadStatusKiB("VmRSS") * 1024 : _process.WorkingSet64;
        _sampledPeak = _baseline;
    }

    /// <summary>Takes one sample (needed only where the kernel keeps no high-water mark).</summary>
    public void Sample()
    {
        if (_kernelPeak) return;
        _process.Refresh();
        _sampledPeak = Math.Max(_sampledPeak, _process.WorkingSet64);
    }

    /// <summary>Bytes the resident set rose by at its peak since the probe started.</summary>
    public long PeakGrowthBytes => Math.Max(0, (_kernelPeak ? ReadStatusKiB("VmHWM") * 1024 : _sampledPeak) - _baseline);

    private static bool TryResetKernelPeak()
    {
        try
        {
            _ = malloc_trim(0);
            File.WriteAllText("/proc/self/clear_refs", "5"); // 5: reset the peak resident set to the current one
            return ReadStatusKiB("VmHWM") > 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>A "Name:   123 kB" line of /proc/self/status, in KiB.</summary>
    private static long ReadStatusKiB(string name)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (!line.StartsWith(name + ":", StringComparison.Ordinal)) continue;
            var value = line[(name.Length + 1)..].Trim();
            return long.Parse(value.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        return 0;
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int malloc_trim(nuint pad);
}
