using System;

namespace Flora.Data;

/// <summary>
/// SplitMix64 (Steele, Lea and Flood, 2014): a tiny, fast 64-bit pseudo-random generator. The data layer uses it
/// instead of <see cref="Random"/> so that seeded shuffles and splits are the same on every machine and every .NET
/// version: the sequence is fixed by the algorithm, not by a library implementation.
/// </summary>
/// <remarks>Not thread-safe and not cryptographic.</remarks>
public sealed class SplitMix64
{
    private ulong _state;

    /// <summary>Creates a generator whose sequence is fully determined by <paramref name="seed"/>.</summary>
    public SplitMix64(ulong seed)
    {
        _state = seed;
    }

    /// <summary>Creates a generator from a signed seed (sign-extended to 64 bits).</summary>
    public SplitMix64(long seed)
        : this(unchecked((ulong)seed))
    {
    }

    /// <summary>The next 64 uniformly distributed bits.</summary>
    public ulong NextUInt64()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A uniformly distributed integer in [0, <paramref name="exclusiveMax"/>), without modulo bias.</summary>
    public int NextInt(int exclusiveMax)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(exclusiveMax);
        ulong bound = (ulong)exclusiveMax;
        // Reject the lowest (2^64 mod bound) values so that every remainder is equally likely.
        ulong threshold = (0UL - bound) % bound;
        while (true)
        {
            ulong r = NextUInt64();
            if (r >= threshold)
            {
                return (int)(r % bound);
            }
        }
    }

    /// <summary>Shuffles <paramref name="items"/> in place (Fisher–Yates, from the last element down).</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
