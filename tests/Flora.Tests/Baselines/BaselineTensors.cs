using TorchSharp.Modules;

namespace Flora.Tests.Baselines;

/// <summary>Helpers the baseline tests share: adapters built directly, non-zero updates, and ΔW computed independently.</summary>
internal static class BaselineTensors
{
    /// <summary>The LoRA (or DoRA) adapter of a convolution, built directly with <paramref name="config"/>.</summary>
    public static LoraLayer Create(Convolution conv, LoraLayerConfig config, bool dora) => (conv, dora) switch
    {
        (Conv1d c, false) => new LoraConv1d("conv", c, config),
        (Conv2d c, false) => new LoraConv2d("conv", c, config),
        (Conv3d c, false) => new LoraConv3d("conv", c, config),
        (Conv1d c, true) => new DoraConv1d("conv", c, config),
        (Conv2d c, true) => new DoraConv2d("conv", c, config),
        (Conv3d c, true) => new DoraConv3d("conv", c, config),
        _ => throw new ArgumentException(conv.GetType().Name),
    };

    /// <summary>
    /// Gives an adapter values that make its update non-zero: LoRA's B (which starts at zero), DoRA's B and magnitude,
    /// AdaLoRA's singular values Λ, BitFit's bias, FLoRA's core, every tensor of a bottleneck adapter.
    /// </summary>
    public static void Randomise(IFloraAdapter adapter, long seed)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        switch (adapter)
        {
            case LoraLayer lora:
                lora.LoraB.copy_(TestTensors.Randn(lora.LoraB.shape, seed) * 0.5);
                if (lora is DoraLayer dora)
                    dora.Magnitude.mul_(TestTensors.Randn(dora.Magnitude.shape, seed + 1000) * 0.2 + 1);
                break;
            case AdaLoraLayer adaLora:
                adaLora.LoraE.copy_(TestTensors.Randn(adaLora.LoraE.shape, seed) * 0.5);
                break;
            case BitFitLayer bitFit when bitFit.Bias is Parameter bias:
                bias.add_(TestTensors.Randn(bias.shape, seed) * 0.5);
                break;
            case FloraLayer flora:
                TestTensors.RandomiseCore(flora, seed);
                break;
            case BottleneckAdapterLayer bottleneck:
                // up starts at zero; every tensor moves so that the update (and each gradient) is non-zero.
                foreach (var ((_, tensor), i) in bottleneck.AdapterTensors.Select((t, i) => (t, i)))
                    tensor.copy_(TestTensors.Randn(tensor.shape, seed + 2000 + i) * 0.5);
                break;
        }
    }

    /// <summary>
    /// <c>scale·ΔW</c> in float64 from <c>lora_B</c> <c>[out, r]</c> and <c>lora_A</c> <c>[r, …]</c> as an explicit sum
    /// over the rank (<c>ΔW[o, j] = Σ_p B[o, p]·A[p, j]</c> by broadcasting, not a matmul), reshaped to the weight's shape.
    /// </summary>
    public static Tensor ExplicitDelta(Tensor loraA, Tensor loraB, double scale, long[] weightShape)
    {
        using var scope = torch.NewDisposeScope();
        long rank = loraA.shape[0];
        var a = loraA.detach().to(ScalarType.Float64).reshape(1, rank, -1);
        var b = loraB.detach().to(ScalarType.Float64).reshape(loraB.shape[0], rank, 1);
        return ((b * a).sum(1) * scale).reshape(weightShape).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// AdaLoRA's <c>ΔW·α/(r + 1e-5)</c> in float64 from P (<c>lora_B</c>, <c>[out, r]</c>), Q (<c>lora_A</c>, <c>[r, K]</c>) and
    /// Λ (<c>lora_E</c>, <c>[r, 1]</c>) as an explicit sum over the triplets (<c>ΔW[o, j] = Σ_p P[o, p]·Λ[p]·Q[p, j]</c> by
    /// broadcasting, not a matmul), reshaped to the weight's shape.
    /// </summary>
    public static Tensor ExplicitAdaLoraDelta(AdaLoraLayer adapter, double alpha, long[] weightShape)
    {
        using var scope = torch.NewDisposeScope();
        long rank = adapter.LoraA.shape[0];
        var q = adapter.LoraA.detach().to(ScalarType.Float64).reshape(1, rank, -1);
        var lambda = adapter.LoraE.detach().to(ScalarType.Float64).reshape(1, rank, 1);
        var p = adapter.LoraB.detach().to(ScalarType.Float64).reshape(adapter.LoraB.shape[0], rank, 1);
        return ((p * lambda * q).sum(1) * (alpha / (rank + 1e-5))).reshape(weightShape).MoveToOuterDisposeScope();
    }

    /// <summary>DoRA's adapted weight <c>m·(W0 + ΔW)/‖W0 + ΔW‖</c> in float64, the norm as the square root of a sum of squares.</summary>
    public static Tensor ExplicitDoraWeight(Tensor weight, Tensor delta, Tensor magnitude)
    {
        using var scope = torch.NewDisposeScope();
        var adapted = weight.detach().to(ScalarType.Float64) + delta.to(ScalarType.Float64);
        long[] others = Enumerable.Range(1, (int)adapted.dim() - 1).Select(d => (long)d).ToArray();
        var norm = adapted.square().sum(others, keepdim: true).sqrt();
        var m = magnitude.detach().to(ScalarType.Float64).reshape(new[] { adapted.shape[0] }.Concat(Enumerable.Repeat(1L, others.Length)).ToArray());
        return (m * adapted / norm).MoveToOuterDisposeScope();
    }

    /// <summary>The bf16 tolerance of the FLoRA equivalence tests: relative to the output's scale.</summary>
    public static (double Rtol, double Atol) Tolerance(Tensor expected, ScalarType dtype)
    {
        double scale = expected.abs().max().to(ScalarType.Float64).item<double>();
        return dtype == ScalarType.BFloat16 ? (2e-2, 2e-2 * scale) : (1e-5, 1e-5);
    }
}
