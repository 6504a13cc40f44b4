using System;
using System.Globalization;
using System.IO;
using System.Linq;

namespace Flora.Bench;

/// <summary>
/// How much of the machine's CPU time other processes (and the hypervisor's steal) took while we measured:
/// (busy ticks of all CPUs in <c>/proc/stat</c> − this process's ticks in <c>/proc/self/stat</c>) / all ticks.
/// Linux only; null elsewhere. Timings taken while this is high are not trustworthy.
/// </summary>
internal sealed class CpuContention
{
    private readonly (long Busy, long Total)? _system;
    private readonly long? _self;

    private CpuContention((long, long)? system, long? self)
    {
        _system = system;
        _self = self;
    }

    public static CpuContention Start() => new(ReadSystem(), ReadSelf());

    /// <summary>Others' share of all CPUs' time since <see cref="Start"/>, in percent, or null when it cannot be read.</summary>
    public double? OthersPercent()
    {
        var system = ReadSystem();
        long? self = ReadSelf();
        if (_system is not (long busy0, long total0) || system is not (long busy1, long total1) || _self is not long self0 || self is not long self1)
            return null;
        long total = total1 - total0;
        if (total <= 0) return null;
        long others = busy1 - busy0 - (self1 - self0);
        return Math.Clamp(100.0 * others / total, 0, 100);
    }

    private static (long Busy, long Total)? ReadSystem()
    {
        try
        {
            string? line = File.ReadLines("/proc/stat").FirstOrDefault(l => l.StartsWith("cpu ", StringComparison.Ordinal));
            if (line is null) return null;
            long[] v = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
                           .Select(s => long.Parse(s, CultureInfo.InvariantCulture)).ToArray();
            if (v.Length < 8) return null;
            // user nice system idle iowait irq softirq steal (guest time is already inside user and nice)
            long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
            return (busy, busy + v[3] + v[4]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException)
        {
            return null;
        }
    }

    private static long? ReadSelf()
    {
        try
        {
            string stat = File.ReadAllText("/proc/self/stat");
            // Fields after the command name "(...)": state is field 3, utime field 14, stime field 15.
            string[] rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(rest[11], CultureInfo.InvariantCulture) + long.Parse(rest[12], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }
}
