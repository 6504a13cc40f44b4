using System;
using System.IO;
using System.Runtime.InteropServices;

namespace Flora.Bench;

/// <summary>
/// Peak resident-memory growth of the process during a piece of work, on Linux with glibc only.
/// Before the work: the managed heap is collected, glibc gives its free pages back (<c>malloc_trim(0)</c>), the
/// kernel's high-water mark VmHWM is reset to the current VmRSS (<c>/proc/self/clear_refs</c> ← 5), and VmRSS is read.
/// After it, VmHWM − that VmRSS is the largest amount of memory the work held resident on top of what was already there.
/// <see cref="Enable"/> first makes glibc serve every allocation of 128 KiB or more with its own mmap, which
/// <c>free</c> unmaps at once; otherwise glibc keeps freed tensors' memory for reuse and the numbers would depend on
/// what ran before. That changes allocation speed, so it is switched on only after all timings are taken.
/// </summary>
internal static class ResidentMemory
{
    private const int MmapThresholdParameter = -3; // M_MMAP_THRESHOLD
    private const int MmapThresholdBytes = 128 * 1024;

    [DllImport("libc.so.6", EntryPoint = "mallopt")]
    private static extern int MallOpt(int parameter, int value);

    [DllImport("libc.so.6", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);

    /// <summary>Why measurements are not available, or null when they are.</summary>
    public static string? Unavailable { get; private set; }

    /// <summary>Switches glibc to per-allocation mmap for large blocks; returns false (see <see cref="Unavailable"/>) when it cannot measure.</summary>
    public static bool Enable()
    {
        if (!OperatingSystem.IsLinux())
            return Fail("peak memory is measured on Linux only");
        try
        {
            new FileStream("/proc/self/clear_refs", FileMode.Open, FileAccess.Write).Dispose(); // writable? (written for real in Begin)
            if (ReadStatusKiB("VmHWM") is null || ReadStatusKiB("VmRSS") is null)
                return Fail("/proc/self/status has no VmHWM or VmRSS");
            if (MallOpt(MmapThresholdParameter, MmapThresholdBytes) != 1)
                return Fail("glibc refused mallopt(M_MMAP_THRESHOLD)");
            MallocTrim(0);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DllNotFoundException or EntryPointNotFoundException)
        {
            return Fail("cannot measure resident memory here: " + e.Message);
        }
    }

    /// <summary>Settles memory and resets the high-water mark; returns the resident size in KiB to subtract afterwards.</summary>
    public static long Begin()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        MallocTrim(0);
        File.WriteAllText("/proc/self/clear_refs", "5");
        return ReadStatusKiB("VmRSS") ?? throw new InvalidOperationException("VmRSS disappeared from /proc/self/status");
    }

    /// <summary>The high-water mark since <see cref="Begin"/> minus the resident size then, in MiB.</summary>
    public static double EndMiB(long startKiB)
    {
        long peak = ReadStatusKiB("VmHWM") ?? throw new InvalidOperationException("VmHWM disappeared from /proc/self/status");
        return Math.Max(0, peak - startKiB) / 1024.0;
    }

    private static bool Fail(string reason)
    {
        Unavailable = reason;
        return false;
    }

    private static long? ReadStatusKiB(string field)
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (!line.StartsWith(field + ":", StringComparison.Ordinal)) continue;
            string[] parts = line[(field.Length + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return parts.Length > 0 && long.TryParse(parts[0], out long kib) ? kib : null;
        }
        return null;
    }
}
