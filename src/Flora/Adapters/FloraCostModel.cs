using System;
using System.Collections.Generic;

namespace Flora;

/// <summary>
/// The estimated time, in seconds, of what each path of an unmerged adapter (FLoRA, LoRA, DoRA) runs for one input,
/// the base layer's own work included, so the three are comparable: the factorised and materialised paths run after
/// the base layer, the fused path instead of it.
/// </summary>
/// <param name="Factorised">The base layer plus the rank-sized chain.</param>
/// <param name="Materialised">The base layer plus building ΔW and a second full-size layer.</param>
/// <param name="Fused">Building ΔW and one full-size layer with <c>W0 + ΔW</c>.</param>
public readonly record struct FloraCostEstimate(double Factorised, double Materialised, double Fused)
{
    /// <summary>
    /// The cheapest path; the fused one only when <paramref name="fusedAvailable"/> (the base layer's call can be
    /// replaced). Ties go to the factorised path, which never holds a full-size ΔW, then to the fused one.
    /// </summary>
    public FloraForwardPath Cheapest(bool fusedAvailable = true)
    {
        FloraForwardPath best = FloraForwardPath.Factorised;
        double cost = Factorised;
        if (fusedAvailable && Fused < cost) (best, cost) = (FloraForwardPath.Fused, Fused);
        if (Materialised < cost) best = FloraForwardPath.Materialised;
        return best;
    }
}

/// <summary>One full-size layer call: its input, output and weight elements and its multiply-adds.</summary>
/// <param name="InputElements">Elements of the input (the whole batch).</param>
/// <param name="OutputElements">Elements of the output.</param>
/// <param name="WeightElements">Elements of the weight (and of ΔW).</param>
/// <param name="Macs">Multiply-adds of the forward.</param>
/// <param name="Convolution">Whether the layer (and its chain) are convolutions rather than matrix products.</param>
internal readonly record struct LayerWork(double InputElements, double OutputElements, double WeightElements, double Macs, bool Convolution);

/// <summary>One link of a factorised chain (a rank-sized convolution or product).</summary>
/// <param name="Macs">Multiply-adds of the forward.</param>
/// <param name="InputElements">Elements it reads.</param>
/// <param name="OutputElements">Elements it writes.</param>
internal readonly record struct ChainLink(double Macs, double InputElements, double OutputElements);

/// <summary>
/// Chooses an unmerged adapter's forward path by estimating the time of the kernels each path runs, on the input's
/// device and dtype (<see cref="FloraDeviceProfile"/>): a forward when no gradient reaches the adapter, a training
/// step (forward, input gradients, weight gradients) otherwise. Each kernel costs
/// <c>max(2·MACs / rate, bytes / bandwidth) + a fixed cost</c>, so a rank-8 convolution over a large activation is
/// priced by the memory it moves, not by its few multiply-adds.
/// <list type="bullet">
/// <item>factorised: the base layer, the chain's links (each with its input and weight gradients), the sum of the two
/// outputs and, when the input needs a gradient, the sum of the two input gradients;</item>
/// <item>materialised: the base layer, building ΔW, a second full-size layer with ΔW (with its weight gradient), the sums;</item>
/// <item>fused: building ΔW and <c>W0 + ΔW</c>, one full-size layer with that weight (with its weight gradient).</item>
/// </list>
/// On a CPU the chain's memory traffic is cheap next to a full layer's multiply-adds and the factorised path wins on dense
/// layers; on a GPU the full layer runs near peak while every pass over the activation costs, and the fused path wins.
/// </summary>
internal static class FloraCostModel
{
    /// <summary>
    /// Estimates a FLoRA adapter's three paths. With weight <c>[out, in/g, k…]</c>, ranks <c>(r_out, r_in, R3…)</c>,
    /// batch N, input positions P_in and output positions P_out, the chain is a 1×1 projection <c>in → g·r_in</c>, the
    /// core convolution <c>g·r_in → g·r_out</c> and a 1×1 projection <c>g·r_out → out</c>. A Linear is the case
    /// P = 1, g = 1, no kernel axes, N = the number of rows.
    /// </summary>
    internal static FloraCostEstimate Estimate(FloraLayerConfig config, long groups, double batch, double inputPositions, double outputPositions, FloraCostContext context)
    {
        long[] shape = config.WeightShape;
        int[] r = config.Ranks;
        double kernel = 1;
        for (int i = 2; i < shape.Length; i++) kernel *= shape[i];
        double outChannels = shape[0], inPerGroup = shape[1], inChannels = inPerGroup * groups;
        double reduced = batch * inputPositions * groups * r[1], coreOutput = batch * outputPositions * groups * r[0];
        var layer = new LayerWork(batch * inputPositions * inChannels, batch * outputPositions * outChannels,
            outChannels * inPerGroup * kernel, batch * outputPositions * outChannels * inPerGroup * kernel, Convolution: shape.Length > 2);
        ChainLink[] chain =
        {
            new(batch * inputPositions * inChannels * r[1], layer.InputElements, reduced),
            new(batch * outputPositions * groups * r[0] * r[1] * kernel, reduced, coreOutput),
            new(batch * outputPositions * outChannels * r[0], coreOutput, layer.OutputElements),
        };
        return Estimate(context, layer, chain, ReconstructionMacs(shape, r, firstMode: 2), ReconstructionMacs(shape, r, firstMode: 0));
    }

    /// <summary>
    /// Estimates a LoRA (or DoRA, <paramref name="dora"/>) adapter's three paths at rank <paramref name="rank"/> for a
    /// weight <c>[out, in/g, k…]</c>: the chain is A as the base layer's own sliding (<c>in → g·r</c>, kernel <c>k…</c>)
    /// and B as a 1×1 projection <c>g·r → out</c>; ΔW = B·A costs <c>out·r·(in/g)·Πk</c>. A Linear is P = 1, g = 1.
    /// </summary>
    internal static FloraCostEstimate EstimateLora(long[] shape, long groups, int rank, LayerExtent extent, bool dora, FloraCostContext context)
    {
        double kernel = 1;
        for (int i = 2; i < shape.Length; i++) kernel *= shape[i];
        double outChannels = shape[0], inPerGroup = shape[1], batch = extent.Batch, positions = extent.OutputPositions;
        var layer = new LayerWork(batch * extent.InputPositions * inPerGroup * groups, batch * positions * outChannels,
            outChannels * inPerGroup * kernel, batch * positions * outChannels * inPerGroup * kernel, Convolution: shape.Length > 2);
        double reduced = batch * positions * groups * rank;
        ChainLink[] chain =
        {
            new(batch * positions * groups * rank * inPerGroup * kernel, layer.InputElements, reduced),
            new(batch * positions * outChannels * rank, reduced, layer.OutputElements),
        };
        return Estimate(context, layer, chain, chainBuildMacs: 0, outChannels * rank * inPerGroup * kernel, rescalesOutput: dora);
    }

    /// <summary>
    /// Estimates the three paths of an adapter whose update is ΔW: <paramref name="chain"/> is the factorised path's
    /// links in order (the first reads the layer's input, the last writes an output-sized update);
    /// <paramref name="chainBuildMacs"/> and <paramref name="deltaBuildMacs"/> the multiply-adds of what the factorised
    /// path builds from the adapter's tensors and of building ΔW. DoRA's extras come through
    /// <paramref name="rescalesOutput"/>: its unfused paths rescale the base output per channel (several passes over the
    /// output), and every path builds ΔW for the norm.
    /// </summary>
    internal static FloraCostEstimate Estimate(FloraCostContext context, LayerWork layer, IReadOnlyList<ChainLink> chain, double chainBuildMacs, double deltaBuildMacs, bool rescalesOutput = false)
    {
        ArgumentNullException.ThrowIfNull(context.Device);
        ArgumentNullException.ThrowIfNull(chain);
        var unfusedTail = new Sheet(context, layer.Convolution);
        unfusedTail.Elementwise(layer.OutputElements, rescalesOutput ? 12 : 3, backwardPasses: rescalesOutput ? 8 : 0);
        unfusedTail.AccumulateInputGradient(layer.InputElements);

        var shared = new Sheet(context, layer.Convolution);
        if (rescalesOutput)
        {
            shared.Build(deltaBuildMacs, layer.WeightElements, trained: false);
            shared.Elementwise(layer.WeightElements, 4);
        }

        var factorised = new Sheet(context, layer.Convolution);
        factorised.Layer(layer, weightGradient: false);
        factorised.Build(chainBuildMacs, 0, trained: true);
        for (int i = 0; i < chain.Count; i++)
            factorised.Link(chain[i], inputGradient: i > 0 || context.InputRequiresGrad);

        var materialised = new Sheet(context, layer.Convolution);
        materialised.Layer(layer, weightGradient: false);
        if (!rescalesOutput) materialised.Build(deltaBuildMacs, layer.WeightElements, trained: true);
        materialised.Layer(layer, weightGradient: true);

        var fused = new Sheet(context, layer.Convolution);
        if (!rescalesOutput) fused.Build(deltaBuildMacs, layer.WeightElements, trained: true);
        fused.Elementwise(layer.WeightElements, 3, backwardPasses: 2);
        fused.Layer(layer, weightGradient: true);

        return new FloraCostEstimate(
            shared.Seconds + factorised.Seconds + unfusedTail.Seconds,
            shared.Seconds + materialised.Seconds + unfusedTail.Seconds,
            shared.Seconds + fused.Seconds);
    }

    /// <summary>Multiply-adds of multiplying modes firstMode.. of the core by their factors, one mode after another.</summary>
    internal static double ReconstructionMacs(IReadOnlyList<long> shape, IReadOnlyList<int> ranks, int firstMode)
    {
        double total = 0;
        for (int n = firstMode; n < shape.Count; n++)
        {
            double elements = 1; // the tensor after the product: modes < n at full size (from firstMode), mode n full, the rest at rank
            for (int m = 0; m < shape.Count; m++)
                elements *= m < firstMode ? ranks[m] : m <= n ? shape[m] : ranks[m];
            total += elements * ranks[n];
        }
        return total;
    }

    /// <summary>Adds up the kernels of one path.</summary>
    private sealed class Sheet
    {
        private readonly FloraCostContext _context;
        private readonly double _flopsPerSecond;

        public Sheet(FloraCostContext context, bool convolution)
        {
            _context = context;
            _flopsPerSecond = convolution ? context.Device.ConvolutionFlopsPerSecond : context.Device.MatrixFlopsPerSecond;
        }

        public double Seconds { get; private set; }

        /// <summary>A full-size layer: forward, input gradient when the input needs one, weight gradient when asked.</summary>
        public void Layer(LayerWork layer, bool weightGradient)
        {
            double moved = layer.InputElements + layer.OutputElements + layer.WeightElements;
            Kernel(layer.Macs, moved);
            if (_context.InputRequiresGrad) Kernel(layer.Macs, moved);
            if (_context.Training && weightGradient) Kernel(layer.Macs, moved);
        }

        /// <summary>A chain link: forward and, in training, its weight gradient and (when needed) its input gradient.</summary>
        public void Link(ChainLink link, bool inputGradient)
        {
            double moved = link.InputElements + link.OutputElements;
            Kernel(link.Macs, moved);
            if (!_context.Training) return;
            Kernel(link.Macs, moved);
            if (inputGradient) Kernel(link.Macs, moved);
        }

        /// <summary>Building a tensor from the adapter's (its backward costs about twice the forward in training).</summary>
        public void Build(double macs, double elements, bool trained)
        {
            int times = trained && _context.Training ? 3 : 1;
            for (int i = 0; i < times; i++) Kernel(macs, elements);
        }

        /// <summary><paramref name="passes"/> elementwise passes over <paramref name="elements"/> (plus some in backward).</summary>
        public void Elementwise(double elements, int passes, int backwardPasses = 0)
        {
            Kernel(0, elements * passes);
            if (_context.Training && backwardPasses > 0) Kernel(0, elements * backwardPasses);
        }

        /// <summary>Adding the adapter's input gradient to the base layer's (read two, write one).</summary>
        public void AccumulateInputGradient(double inputElements)
        {
            if (_context.Training && _context.InputRequiresGrad) Kernel(0, 3 * inputElements);
        }

        private void Kernel(double macs, double elements)
        {
            FloraDeviceProfile device = _context.Device;
            Seconds += Math.Max(2 * macs / _flopsPerSecond, elements * _context.BytesPerElement / device.BytesPerSecond) + device.SecondsPerKernel;
        }
    }
}
