using System;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// A transposed convolution (<c>ConvTranspose1d/2d/3d</c>) with weight <c>[in, out/groups, k…]</c>: input channel i of
/// group j = i / (in/g) scatters its kernel <c>W[i, o, k…]</c> onto output channel <c>j·(out/g) + o</c> with the base
/// layer's stride, padding, output padding and dilation. Mode 0 is the input channels, so the factorised products run
/// in the other order than a convolution's: the mode-0 factor <c>[in, r0]</c> reduces <c>in → r0</c> per group (a grouped
/// 1×1 convolution with the rows of that group), the kernel <c>[r0, r1, k…]</c> repeated per group slides as the base
/// layer does (a grouped transposed convolution <c>g·r0 → g·r1</c>), and the mode-1 factor <c>[out/g, r1]</c>, shared by
/// the groups, expands <c>r1 → out/g</c> per group. That is exactly the grouped ΔW <c>[in, out/g, k…]</c>.
/// Torch allows only zero padding for transposed convolutions.
/// </summary>
internal sealed class TransposedConvolutionGeometry : SlidingGeometry
{
    private readonly long[] _stride, _dilation, _padding, _outputPadding;

    public TransposedConvolutionGeometry(Convolution conv, Func<Parameter> weight, Func<Parameter?> bias) : base(weight, bias, conv.groups, transposed: true)
    {
        if (!conv.transposed)
            throw new ArgumentException($"{conv.GetType().Name} is not a transposed convolution: describe it with LayerGeometry.Convolution.");
        if (conv.padding_mode != PaddingModes.Zeros)
            throw new ArgumentException($"{conv.GetType().Name} pads with {conv.padding_mode}; transposed convolutions pad with zeros only (as torch requires).");
        if (KernelAxes is < 1 or > 3)
            throw new ArgumentException($"a transposed convolution's weight is [in, out/groups, k…] with 1 to 3 kernel axes; got [{string.Join(", ", WeightShape)}]");
        _stride = conv.stride;
        _dilation = conv.dilation;
        _padding = conv.padding ?? new long[KernelAxes];
        _outputPadding = conv.output_padding ?? new long[KernelAxes];
    }

    internal override Tensor Apply(Tensor input, Tensor weight, Tensor? bias) => KernelAxes switch
    {
        1 => nn.functional.conv_transpose1d(input, weight, bias, _stride[0], _padding[0], _outputPadding[0], _dilation[0], Groups),
        2 => nn.functional.conv_transpose2d(input, weight, bias, _stride, _padding, _outputPadding, _dilation, Groups),
        _ => nn.functional.conv_transpose3d(input, weight, bias, _stride, _padding, _outputPadding, _dilation, Groups),
    };

    /// <remarks>Reduce <c>in → r</c> per group with the left factor's rows of that group, then the right factor as the base layer's transposed kernel (<c>r → out/g</c> per group).</remarks>
    internal override Tensor LowRank(Tensor input, Tensor left, Tensor right)
    {
        using var reduced = Reduce(input, left);
        return Spatial(reduced, right);
    }

    /// <remarks>Reduce (U0 <c>[in, r0]</c>, the rows of each group) → Spatial (the core kernel <c>[r0, r1, k…]</c>) → Expand (U1 <c>[out/g, r1]</c>, shared by the groups).</remarks>
    internal override Tensor TuckerChain(Tensor input, Tensor mode0, Tensor mode1, Tensor kernel)
    {
        using var reduced = Reduce(input, mode0);
        using var core = Spatial(reduced, kernel);
        return Expand(core, mode1);
    }

    /// <remarks>
    /// Sized for the cost model, which prices a convolution with weight <c>[W0, W1, k…]</c> mapping W1·g channels at
    /// its input positions to W0 channels at its output positions: a transposed convolution is the adjoint of such a
    /// convolution with its weight <c>[in, out/g, k…]</c> read that way, from its output positions to its input ones, with
    /// the same products, sizes and activations. So the positions come back swapped: the layer's output positions as
    /// the priced input, its input positions as the priced output; the factorised chain prices the same way (the
    /// mode-0 factor at the input positions, the mode-1 factor at the output positions).
    /// </remarks>
    internal override LayerExtent Extent(long[] inputShape)
    {
        int first = inputShape.Length - KernelAxes;
        double inputPositions = 1, outputPositions = 1;
        for (int i = 0; i < KernelAxes; i++)
        {
            long size = inputShape[first + i];
            inputPositions *= size;
            long kernel = WeightShape[2 + i];
            outputPositions *= Math.Max(0, (size - 1) * _stride[i] - 2 * _padding[i] + _dilation[i] * (kernel - 1) + _outputPadding[i] + 1);
        }
        return new LayerExtent(first == 2 ? inputShape[0] : 1, outputPositions, inputPositions);
    }

    /// <summary><c>in → r</c> per group with <paramref name="factor"/> <c>[in, r]</c>: group j's r outputs read its in/g channels through rows <c>j·(in/g)…</c> of the factor.</summary>
    private Tensor Reduce(Tensor input, Tensor factor)
    {
        long rank = factor.shape[1];
        using var grouped = factor.reshape(Groups, WeightShape[0] / Groups, rank);
        using var transposed = grouped.transpose(1, 2);                                       // [g, r, in/g]
        using var weight = transposed.reshape(PointwiseShape(Groups * rank, WeightShape[0] / Groups));
        return Pointwise(input, weight);
    }

    /// <summary><c>r → out/g</c> per group with <paramref name="matrix"/> <c>[out/g, r]</c>, shared by the groups.</summary>
    private Tensor Expand(Tensor input, Tensor matrix)
    {
        using var weight = matrix.reshape(PointwiseShape(matrix.shape[0], matrix.shape[1]));
        return PointwiseShared(input, weight);
    }

    /// <summary>The shape of a 1×1 kernel <c>[outputs, inputs, 1…]</c>.</summary>
    private long[] PointwiseShape(long outputs, long inputs)
    {
        var shape = new long[2 + KernelAxes];
        Array.Fill(shape, 1L);
        shape[0] = outputs;
        shape[1] = inputs;
        return shape;
    }
}
