using TorchSharp;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// Tensor-with-number operations that are safe from a TorchSharp 0.107 race: its methods taking a <c>Scalar</c> pass the
/// scalar's native handle on and never touch the managed object again, so a temporary made by an implicit conversion
/// (<c>x.mul(0.4)</c>) can be finalised by the garbage collector while the native call still reads it. That crashes
/// long training runs at random ("Expected false to be true … toLong"). These hold the scalar until the call returns;
/// the adapters' hot paths use nothing else.
/// </summary>
internal static class Scalars
{
    public static Tensor Times(this Tensor tensor, double value)
    {
        using var scalar = value.ToScalar();
        return tensor.mul(scalar);
    }

    public static Tensor TimesInPlace(this Tensor tensor, double value)
    {
        using var scalar = value.ToScalar();
        return tensor.mul_(scalar);
    }

    public static Tensor Minus(this Tensor tensor, double value)
    {
        using var scalar = value.ToScalar();
        return tensor.sub(scalar);
    }

    public static Tensor EqualTo(this Tensor tensor, double value)
    {
        using var scalar = value.ToScalar();
        return tensor.eq(scalar);
    }

    public static Tensor NotEqualTo(this Tensor tensor, double value)
    {
        using var scalar = value.ToScalar();
        return tensor.ne(scalar);
    }

    public static Tensor FilledWhere(this Tensor tensor, Tensor mask, double value)
    {
        using var scalar = value.ToScalar();
        return tensor.masked_fill(mask, scalar);
    }
}
