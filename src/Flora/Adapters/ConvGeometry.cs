using System;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// How a base convolution slides its kernel: stride, padding (explicit, <c>same</c> or <c>valid</c>), padding mode and
/// dilation. Applying it to another kernel reproduces exactly what the base layer's forward does with its own.
/// </summary>
internal sealed class ConvGeometry
{
    private readonly Convolution _conv;

    public ConvGeometry(Convolution conv)
    {
        if (conv.transposed)
            throw new ArgumentException("transposed convolutions are not supported by FLoRA adapters");
        _conv = conv;
    }

    /// <summary>Number of kernel axes (1, 2 or 3).</summary>
    public int Dimensions => _conv.kernel_size.Length;

    public long Groups => _conv.groups;

    /// <summary>Convolves <paramref name="input"/> with <paramref name="weight"/> (and <paramref name="bias"/>, if any) the way the base layer does.</summary>
    public Tensor Apply(Tensor input, Tensor weight, long groups, Tensor? bias = null)
    {
        long[] stride = _conv.stride, dilation = _conv.dilation;
        if (_conv.padding_mode != PaddingModes.Zeros)
        {
            using var padded = nn.functional.pad(input, ReversedPadding(), _conv.padding_mode);
            return Convolve(padded, weight, bias, stride, new long[Dimensions], dilation, groups);
        }
        if (_conv.padding_type == Padding.Same)
            return Dimensions switch
            {
                1 => nn.functional.conv1d_padding(input, weight, bias, stride[0], Padding.Same, dilation[0], groups),
                2 => nn.functional.conv2d_padding(input, weight, bias, stride, Padding.Same, dilation, groups),
                _ => nn.functional.conv3d_padding(input, weight, bias, stride, Padding.Same, dilation, groups),
            };
        return Convolve(input, weight, bias, stride, _conv.padding ?? new long[Dimensions], dilation, groups);
    }

    /// <summary>A 1×1 convolution (stride 1, no padding) with <paramref name="weight"/> shaped <c>[out, in/groups, 1, …]</c>.</summary>
    public Tensor Pointwise(Tensor input, Tensor weight, long groups)
    {
        long[] ones = Enumerable.Repeat(1L, Dimensions).ToArray();
        return Convolve(input, weight, null, ones, new long[Dimensions], ones, groups);
    }

    /// <summary>Number of output positions for an input of <paramref name="inputShape"/> (batched or not).</summary>
    public double OutputPositions(long[] inputShape)
    {
        double positions = 1;
        int first = inputShape.Length - Dimensions;
        for (int i = 0; i < Dimensions; i++)
        {
            long size = inputShape[first + i];
            if (_conv.padding_type == Padding.Same) { positions *= size; continue; }
            long pad = _conv.padding_type == Padding.Valid ? 0 : (_conv.padding?[i] ?? 0);
            long span = _conv.dilation[i] * (_conv.kernel_size[i] - 1) + 1;
            positions *= Math.Max(0, (size + 2 * pad - span) / _conv.stride[i] + 1);
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
        var result = new long[2 * Dimensions];
        if (_conv.padding_type == Padding.Same)
            for (int i = Dimensions - 1; i >= 0; i--)
            {
                long total = _conv.dilation[i] * (_conv.kernel_size[i] - 1);
                result[2 * i] = total / 2;
                result[2 * i + 1] = total - total / 2;
            }
        return result;
    }

    private Tensor Convolve(Tensor input, Tensor weight, Tensor? bias, long[] stride, long[] padding, long[] dilation, long groups) => Dimensions switch
    {
        1 => nn.functional.conv1d(input, weight, bias, stride[0], padding[0], dilation[0], groups),
        2 => nn.functional.conv2d(input, weight, bias, stride, padding, dilation, groups),
        _ => nn.functional.conv3d(input, weight, bias, stride, padding, dilation, groups),
    };
}
