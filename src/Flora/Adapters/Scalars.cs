using TorchSharp;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// Tensor-with-number operations that are safe from a TorchSharp 0.107 race: its methods taking a <c>Scalar</c> pass the
/// scalar's native handle on and never touch the managed object again, so a temporary made by an implicit conversion
/// (<c>x.mul(0.4)</c>) can be finalised by the garbage collector while the native call still reads it. That crashes
/// long training runs at random ("Expected false to be true … toLong"). These hold the scalar until the call returns;
/// the adapters' hot paths use nothing else. TorchSharp's tensor addition (<c>a + b</c>, <c>a.add(b)</c>) is affected too:
/// it calls <c>add(b, alpha: 1)</c> with a temporary scalar; <see cref="Plus"/> passes a scalar that is never collected.
/// <para>
/// Internal: extension methods on every <c>Tensor</c> are not this library's to give its users. Flora.Cli,
/// Flora.Pretrained and the end-to-end tests compile this same file (linked source) for their own models.
/// </para>
/// </summary>
internal static class Scalars
{
    /// <summary>The scalar 1, alive for the whole process (so never finalised during a call).</summary>
    private static readonly Scalar One = 1.ToScalar();

    /// <summary><c>tensor + other</c> without TorchSharp's temporary alpha scalar.</summary>
    public static Tensor Plus(this Tensor tensor, Tensor other) => tensor.add(other, One);

    /// <summary><c>tensor += other</c> in place, without TorchSharp's temporary alpha scalar.</summary>
    public static Tensor PlusInPlace(this Tensor tensor, Tensor other) => tensor.add_(other, One);

    /// <summary>The operation with <paramref name="value"/> held as a scalar until the call returns.</summary>
    public static Tensor Times(this Tensor tensor, double value)
    {
        using var scalar = value.ToScalar();
        return tensor.mul(scalar);
    }

    /// <summary>The operation with <paramref name="value"/> held as a scalar until the call returns.</summary>
    public static Tensor TimesInPlace(this Tensor tensor, double value)
    {
        using var scalar = value.ToScalar();
        return tensor.mul_(scalar);
    }

    /// <summary>The operation with <paramref name="value"/> held as a scalar until the call returns.</summary>
    public static Tensor Minus(this Tensor tensor, double value)
    {
        using var scalar = value.ToScalar();
        return tensor.sub(scalar);
    }

    /// <summary>The operation with <paramref name="value"/> held as a scalar until the call returns.</summary>
    public static Tensor EqualTo(this Tensor tensor, double value)
    {
        using var scalar = value.ToScalar();
        return tensor.eq(scalar);
    }

    /// <summary>The operation with <paramref name="value"/> held as a scalar until the call returns.</summary>
    public static Tensor NotEqualTo(this Tensor tensor, double value)
    {
        using var scalar = value.ToScalar();
        return tensor.ne(scalar);
    }

    /// <summary>The operation with <paramref name="value"/> held as a scalar until the call returns.</summary>
    public static Tensor FilledWhere(this Tensor tensor, Tensor mask, double value)
    {
        using var scalar = value.ToScalar();
        return tensor.masked_fill(mask, scalar);
    }
}
