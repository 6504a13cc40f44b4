using System.Collections.Generic;
using TorchSharp;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// The cheapest-path decisions of one adapter, one per input signature: shape, dtype, device, whether gradients are
/// recorded, reach the adapter and reach the input, and whether the fused path is available. The cost model runs once
/// per signature; later calls cost a dictionary look-up. Inputs of more than five axes are priced every call.
/// </summary>
internal sealed class PathCache
{
    private readonly Dictionary<Signature, FloraForwardPath> _decisions = new();

    /// <summary>Forgets every decision (the adapter moved to another device or dtype).</summary>
    public void Clear() => _decisions.Clear();

    /// <summary>The cheapest path for <paramref name="input"/>; the fused one only when <paramref name="fusable"/> and exact enough.</summary>
    public FloraForwardPath Cheapest(DeltaAdapterLayer adapter, Tensor input, bool fusable)
    {
        long[] shape = input.shape;
        ScalarType dtype = input.dtype;
        bool recording = is_grad_enabled();
        bool training = recording && adapter.AdapterTrains;
        bool inputGrad = recording && input.requires_grad;
        // W0 + ΔW rounded to a 16-bit dtype drops an update below its resolution: the unfused paths add it to the output.
        bool fused = fusable && dtype is not (ScalarType.BFloat16 or ScalarType.Float16);
        if (shape.Length > 5) return Price(adapter, input, shape, training, fused);
        var key = new Signature(shape.Length, At(shape, 0), At(shape, 1), At(shape, 2), At(shape, 3), At(shape, 4),
            dtype, input.device_type, input.device_index, training, inputGrad, fused);
        if (_decisions.TryGetValue(key, out FloraForwardPath path)) return path;
        path = Price(adapter, input, shape, training, fused);
        _decisions[key] = path;
        return path;
    }

    private static FloraForwardPath Price(DeltaAdapterLayer adapter, Tensor input, long[] shape, bool training, bool fused) =>
        adapter.EstimateCost(shape, FloraCostContext.Of(input, training)).Cheapest(fused);

    private static long At(long[] shape, int i) => i < shape.Length ? shape[i] : 0;

    private readonly record struct Signature(int Rank, long S0, long S1, long S2, long S3, long S4, ScalarType DType, DeviceType Device, int DeviceIndex,
                                             bool Training, bool InputGrad, bool Fusable);
}
