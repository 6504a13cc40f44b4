using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Reflection;
using System.Runtime.InteropServices;

namespace Flora.Bench;

/// <summary>
/// Peak resident-memory growth of one training step on the CPU, on Linux with glibc only.
/// <para>
/// glibc normally keeps freed blocks for reuse (and raises its mmap threshold as large blocks are freed), so the
/// resident set of a process that already ran other work says little about one step. The measurement therefore
/// runs in a child process of the benchmark, started with <c>MALLOC_MMAP_THRESHOLD_=131072</c>: from its first
/// allocation on, every block of 128 KiB or more is its own mmap that <c>free</c> unmaps at once, so the resident
/// set follows the live tensors. Before each measured step the child collects the managed heap, returns glibc's free
/// pages (<c>malloc_trim(0)</c>), resets the kernel's high-water mark VmHWM to the current VmRSS
/// (<c>/proc/self/clear_refs</c> ← 5) and reads VmRSS; after the step, VmHWM minus that VmRSS is the step's peak.
/// The timings are taken in the parent, with glibc's ordinary behaviour.
/// </para>
/// </summary>
internal static class ResidentMemory
{
    public const string ChildFlag = "--internal-memory-pass";
    private const string LinePrefix = "flora-bench-memory";
    private const int MmapThresholdParameter = -3; // M_MMAP_THRESHOLD
    private const int MmapThresholdBytes = 128 * 1024;

    [DllImport("libc.so.6", EntryPoint = "mallopt")]
    private static extern int MallOpt(int parameter, int value);

    [DllImport("libc.so.6", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);

    /// <summary>
    /// Runs the measurement in a child process (the same command line plus <see cref="ChildFlag"/>); returns the peaks
    /// by row (layer or method index) and key (variant or method), or null with <paramref name="reason"/> saying why there are none.
    /// </summary>
    public static Dictionary<(int Row, string Key), double>? MeasureInChild(IReadOnlyList<string> args, out string reason)
    {
        if (!OperatingSystem.IsLinux())
        {
            reason = "peak memory is measured on Linux (glibc, /proc) only";
            return null;
        }
        string? host = Environment.ProcessPath;
        if (host is null)
        {
            reason = "the benchmark cannot find its own executable to start the measuring process";
            return null;
        }
        var start = new ProcessStartInfo(host)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
            start.ArgumentList.Add(Assembly.GetExecutingAssembly().Location);
        foreach (string arg in args)
            start.ArgumentList.Add(arg);
        start.ArgumentList.Add(ChildFlag);
        start.Environment["MALLOC_MMAP_THRESHOLD_"] = MmapThresholdBytes.ToString(CultureInfo.InvariantCulture);

        using Process child = Process.Start(start) ?? throw new InvalidOperationException("could not start " + host);
        var stderr = child.StandardError.ReadToEndAsync();
        var peaks = new Dictionary<(int, string), double>();
        string? line;
        while ((line = child.StandardOutput.ReadLine()) is not null)
        {
            string[] parts = line.Split('\t');
            if (parts.Length == 4 && parts[0] == LinePrefix
                && int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int row)
                && double.TryParse(parts[3], NumberStyles.Float, CultureInfo.InvariantCulture, out double mib))
                peaks[(row, parts[2])] = mib;
        }
        child.WaitForExit();
        string errors = stderr.Result.Trim();
        if (child.ExitCode != 0)
        {
            reason = $"the measuring process failed (exit code {child.ExitCode}): {errors}";
            return null;
        }
        reason = "";
        return peaks;
    }

    /// <summary>The child's side: runs <paramref name="measure"/> (lazily: after the checks) and writes one line per peak.</summary>
    public static int RunChild(Func<IEnumerable<(int Row, string Key, double MiB)>> measure)
    {
        if (Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") is null)
        {
            Console.Error.WriteLine("the memory pass must be started by the benchmark itself (it sets MALLOC_MMAP_THRESHOLD_)");
            return 1;
        }
        try
        {
            new FileStream("/proc/self/clear_refs", FileMode.Open, FileAccess.Write).Dispose();
            if (ReadStatusKiB("VmHWM") is null || ReadStatusKiB("VmRSS") is null)
                throw new IOException("/proc/self/status has no VmHWM or VmRSS");
            MallOpt(MmapThresholdParameter, MmapThresholdBytes); // already set by the environment; this confirms it
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DllNotFoundException or EntryPointNotFoundException)
        {
            Console.Error.WriteLine("cannot measure resident memory here: " + e.Message);
            return 1;
        }
        foreach (var (row, key, mib) in measure())
            Console.WriteLine(string.Join('\t', LinePrefix, row.ToString(CultureInfo.InvariantCulture), key,
                                          mib.ToString("R", CultureInfo.InvariantCulture)));
        return 0;
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

    private static long? ReadStatusKiB(string field)
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (!line.StartsWith(field + ":", StringComparison.Ordinal)) continue;
            string[] parts = line[(field.Length + 1)..].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return parts.Length > 0 && long.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out long kib) ? kib : null;
        }
        return null;
    }
}
