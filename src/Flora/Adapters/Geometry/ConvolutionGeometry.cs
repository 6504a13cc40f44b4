using System;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// A convolution with weight <c>[out, in/groups, k…]</c>: how it slides its kernel (stride, padding explicit, <c>same</c>
/// or <c>valid</c>, padding mode, dilation) and its groups. Applying it to another kernel reproduces exactly what the base
/// layer's forward does with its own. The blocks run per group: the shared kernel or factor repeated once per group,
/// which is exactly the grouped ΔW of shape <c>[out, in/g, k…]</c>. Every shape the calls need is computed once here.
/// </summary>
internal sealed class ConvolutionGeometry : SlidingGeometry
{
    private readonly Convolution _conv;
    private readonly long[] _stride, _dilation, _padding, _reduceShape, _expandShape;
    private readonly long[]? _reversedPadding;

    public ConvolutionGeometry(Convolution conv, Func<Parameter> weight, Func<Parameter?> bias) : base(weight, bias, conv.groups, transposed: false)
    {
        if (conv.transposed)
            throw new ArgumentException("transposed convolutions are not supported by FLoRA adapters");
        _conv = conv;
        _stride = conv.stride;
        _dilation = conv.dilation;
        _padding = conv.padding ?? new long[KernelAxes];
        _reduceShape = new[] { -1L, WeightShape[1] }.Concat(Ones).ToArray();
        _expandShape = new[] { WeightShape[0], -1L }.Concat(Ones).ToArray();
        _reversedPadding = conv.padding_mode == PaddingModes.Zeros ? null : ReversedPadding();
    }

    internal override Tensor Apply(Tensor input, Tensor weight, Tensor? bias)
    {
        if (_reversedPadding is not null)
        {
            using var padded = nn.functional.pad(input, _reversedPadding, _conv.padding_mode);
            return Convolve(padded, weight, bias, _stride, Zeros, _dilation);
        }
        if (_conv.padding_type == Padding.Same)
            return KernelAxes switch
            {
                1 => nn.functional.conv1d_padding(input, weight, bias, _stride[0], Padding.Same, _dilation[0], Groups),
                2 => nn.functional.conv2d_padding(input, weight, bias, _stride, Padding.Same, _dilation, Groups),
                _ => nn.functional.conv3d_padding(input, weight, bias, _stride, Padding.Same, _dilation, Groups),
            };
        return Convolve(input, weight, bias, _stride, _padding, _dilation);
    }

    /// <remarks>Spatial (the right factor as the base layer's kernel, <c>in → r</c> per group), then Expand (the left factor, <c>r → out</c>).</remarks>
    internal override Tensor LowRank(Tensor input, Tensor left, Tensor right)
    {
        using var reduced = Spatial(input, right);
        return Expand(reduced, left);
    }

    /// <remarks>Reduce (U1 = U_in, shared by the groups) → Spatial (the core kernel) → Expand (U0 = U_out).</remarks>
    internal override Tensor TuckerChain(Tensor input, Tensor mode0, Tensor mode1, Tensor kernel)
    {
        using var reduced = Reduce(input, mode1);
        using var core = Spatial(reduced, kernel);
        return Expand(core, mode0);
    }

    /// <summary><c>in → r</c> per group with <paramref name="factor"/> <c>[in/groups, r]</c> (a 1×1 convolution).</summary>
    private Tensor Reduce(Tensor input, Tensor factor)
    {
        using var transposed = factor.t();
        using var weight = transposed.reshape(_reduceShape);
        return PointwiseShared(input, weight);
    }

    /// <summary><c>r → out</c> per group with <paramref name="matrix"/> <c>[out, r]</c> (row o reads its group's r channels).</summary>
    private Tensor Expand(Tensor input, Tensor matrix)
    {
        using var weight = matrix.reshape(_expandShape);
        return Pointwise(input, weight);
    }

    internal override LayerExtent Extent(long[] inputShape)
    {
        int spatialStart = inputShape.Length - KernelAxes;
        double inputPositions = 1;
        for (int i = spatialStart; i < inputShape.Length; i++) inputPositions *= inputShape[i];
        return new LayerExtent(spatialStart == 2 ? inputShape[0] : 1, inputPositions, OutputPositions(inputShape));
    }

    private double OutputPositions(long[] inputShape)
    {
        double positions = 1;
        int first = inputShape.Length - KernelAxes;
        for (int i = 0; i < KernelAxes; i++)
        {
            long size = inputShape[first + i];
            if (_conv.padding_type == Padding.Same) { positions *= size; continue; }
            long pad = _conv.padding_type == Padding.Valid ? 0 : _padding[i];
            long span = _dilation[i] * (_conv.kernel_size[i] - 1) + 1;
            positions *= Math.Max(0, (size + 2 * pad - span) / _stride[i] + 1);
        }
        return positions;
    }

    /// <summary>
    /// The padding amounts given to <c>F.pad</c>, exactly as the base layer computes them. For <c>same</c> padding,
    /// TorchSharp 0.107 fills this array in axis order rather than last-axis-first as PyTorch does (the two differ
    /// for non-square kernels); the adapter mirrors the base layer so that its output has the base output's shape.
    /// </summary>
    private long[] ReversedPadding()
    {
        if (_conv.padding is long[] padding)
            return padding.Reverse().SelectMany(p => new[] { p, p }).ToArray();
        var result = new long[2 * KernelAxes];
        if (_conv.padding_type == Padding.Same)
            for (int i = KernelAxes - 1; i >= 0; i--)
            {
                long total = _dilation[i] * (_conv.kernel_size[i] - 1);
                result[2 * i] = total / 2;
                result[2 * i + 1] = total - total / 2;
            }
        return result;
    }
}
