using System;
using System.Linq;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// What a convolution and a transposed convolution share: the weight and bias read through accessors, batching (an
/// input of <c>k + 2</c> axes has a batch axis), the base layer's sliding run with one kernel for every group, and 1×1
/// convolutions with the base layer's groups — the building blocks of their factorised chains.
/// </summary>
internal abstract class SlidingGeometry : LayerGeometry
{
    private readonly Func<Parameter> _weight;
    private readonly Func<Parameter?> _bias;
    private readonly long[] _zeros, _ones, _groupRepeat;

    private protected SlidingGeometry(Func<Parameter> weight, Func<Parameter?> bias, long groups, bool transposed)
        : base(weight().shape, groups, transposed)
    {
        _weight = weight;
        _bias = bias;
        int d = KernelAxes;
        _zeros = new long[d];
        _ones = Enumerable.Repeat(1L, d).ToArray();
        _groupRepeat = new[] { Groups }.Concat(Enumerable.Repeat(1L, d + 1)).ToArray();
    }

    public sealed override Parameter Weight => _weight();

    public sealed override Parameter? Bias => _bias();

    /// <summary>Zeros, one per kernel axis (no padding).</summary>
    private protected long[] Zeros => _zeros;

    /// <summary>Ones, one per kernel axis (a 1×1 kernel's stride and dilation).</summary>
    private protected long[] Ones => _ones;

    internal sealed override bool IsBatched(long dimensions) => dimensions == KernelAxes + 2;

    /// <summary>The base layer's sliding (<see cref="LayerGeometry.Apply"/>) with <paramref name="kernel"/>, the same kernel for every group.</summary>
    private protected Tensor Spatial(Tensor input, Tensor kernel)
    {
        if (Groups == 1) return Apply(input, kernel, null);
        using var repeated = kernel.repeat(_groupRepeat);
        return Apply(input, repeated, null);
    }

    /// <summary>A 1×1 convolution with <paramref name="weight"/> <c>[outputs, inputs/groups, 1…]</c>, stride 1, no padding, the base layer's groups.</summary>
    private protected Tensor Pointwise(Tensor input, Tensor weight) => Convolve(input, weight, null, _ones, _zeros, _ones);

    /// <summary>A 1×1 convolution with <paramref name="weight"/> <c>[outputs, inputs, 1…]</c>, the same weight for every group.</summary>
    private protected Tensor PointwiseShared(Tensor input, Tensor weight)
    {
        if (Groups == 1) return Pointwise(input, weight);
        using var repeated = weight.repeat(_groupRepeat);
        return Pointwise(input, repeated);
    }

    /// <summary><c>conv1d/2d/3d</c> by the number of kernel axes, with the base layer's groups.</summary>
    private protected Tensor Convolve(Tensor input, Tensor weight, Tensor? bias, long[] stride, long[] padding, long[] dilation) => KernelAxes switch
    {
        1 => nn.functional.conv1d(input, weight, bias, stride[0], padding[0], dilation[0], Groups),
        2 => nn.functional.conv2d(input, weight, bias, stride, padding, dilation, Groups),
        _ => nn.functional.conv3d(input, weight, bias, stride, padding, dilation, Groups),
    };
}
