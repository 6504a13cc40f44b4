using System;
using System.Collections.Generic;

namespace Flora;

/// <summary>The estimated cost of one unmerged adapter forward (FLoRA, LoRA, DoRA) on both paths, in multiply-adds.</summary>
/// <param name="FactorisedMacs">Multiply-adds of the factorised chain.</param>
/// <param name="MaterialisedMacs">Multiply-adds of building ΔW and running it as a second layer.</param>
/// <param name="FactorisedExtraActivations">Elements of the intermediate activations the factorised chain keeps for backward.</param>
public readonly record struct FloraCostEstimate(double FactorisedMacs, double MaterialisedMacs, double FactorisedExtraActivations)
{
    /// <summary>The cheaper path (ties go to the factorised path, which never holds a full-size ΔW).</summary>
    public FloraForwardPath Cheaper => FactorisedMacs <= MaterialisedMacs ? FloraForwardPath.Factorised : FloraForwardPath.Materialised;
}

/// <summary>
/// Chooses between the factorised and the materialised forward of a FLoRA adapter by counting multiply-adds for
/// the input shape at hand. With weight <c>[out, in/g, k…]</c>, ranks <c>(r_out, r_in, R3…)</c>, batch N, input
/// positions P_in and output positions P_out:
/// factorised = N·(P_in·in·r_in + P_out·g·r_out·r_in·Πk + P_out·out·r_out) + the kernel's reconstruction;
/// materialised = N·P_out·out·(in/g)·Πk + ΔW's reconstruction.
/// A Linear is the case P = 1, g = 1, no kernel axes, N = the number of rows.
/// </summary>
public static class FloraCostModel
{
    /// <summary>
    /// The path an adapter's settings fix: its own override, else its configured path; null when both are Auto and the
    /// cheaper path for the input at hand decides (<c>Fixed(...) ?? EstimateCost(shape).Cheaper</c>).
    /// </summary>
    public static FloraForwardPath? Fixed(FloraForwardPath adapterOverride, FloraForwardPath configured) =>
        adapterOverride != FloraForwardPath.Auto ? adapterOverride
        : configured != FloraForwardPath.Auto ? configured
        : null;

    /// <summary>Estimates both paths' cost.</summary>
    public static FloraCostEstimate Estimate(FloraLayerConfig config, long groups, double batch, double inputPositions, double outputPositions)
    {
        long[] shape = config.WeightShape;
        int[] r = config.Ranks;
        double kernel = 1, coreKernel = 1;
        for (int i = 2; i < shape.Length; i++)
        {
            kernel *= shape[i];
            coreKernel *= r[i];
        }
        double outChannels = shape[0], inPerGroup = shape[1], inChannels = inPerGroup * groups;
        double kernelBuild = ReconstructionMacs(shape, r, firstMode: 2);
        double factorised = batch * (inputPositions * inChannels * r[1] + outputPositions * groups * r[0] * r[1] * kernel + outputPositions * outChannels * r[0])
                            + kernelBuild;
        double materialised = batch * outputPositions * outChannels * inPerGroup * kernel + ReconstructionMacs(shape, r, firstMode: 0);
        double extra = batch * (inputPositions * groups * r[1] + outputPositions * groups * r[0]);
        return new FloraCostEstimate(factorised, materialised, extra);
    }

    /// <summary>Multiply-adds of multiplying modes firstMode.. of the core by their factors, one mode after another.</summary>
    private static double ReconstructionMacs(IReadOnlyList<long> shape, IReadOnlyList<int> ranks, int firstMode)
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
}
