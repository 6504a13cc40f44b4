using System;
using TorchSharp;

namespace Flora.Comparison;

/// <summary>How one fine-tuning (or pretraining) run trains.</summary>
public sealed record TrainSettings
{
    /// <summary>Passes over the training set.</summary>
    public int Epochs { get; init; } = 3;
    /// <summary>Images per optimizer step.</summary>
    public int BatchSize { get; init; } = 128;
    /// <summary>Peak learning rate of AdamW (after warm-up).</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>AdamW's decoupled weight decay.</summary>
    public double WeightDecay { get; init; } = 0.05;
    /// <summary>Share of all steps spent warming the learning rate up linearly from 0.</summary>
    public double WarmupFraction { get; init; } = 0.1;
    /// <summary>Gradients are clipped to this global L2 norm; positive infinity: not clipped.</summary>
    public double ClipNorm { get; init; } = 1.0;
    /// <summary>Seeds the shuffling (and, by the caller, the adapters' initialisation).</summary>
    public int Seed { get; init; }
    /// <summary>The dtype the network computes in (its weights and inputs): float32, or bfloat16 on a GPU.</summary>
    public torch.ScalarType Dtype { get; init; } = torch.ScalarType.Float32;
    /// <summary>BatchNorm layers stay in eval mode while training: their running statistics stay the pretrained ones.</summary>
    public bool FrozenBatchNorm { get; init; }

    /// <summary>Checks the values and says which one is wrong.</summary>
    public void Validate()
    {
        if (Epochs < 1) throw new ArgumentException($"epochs must be at least 1 (got {Epochs})");
        if (BatchSize < 1) throw new ArgumentException($"the batch size must be at least 1 (got {BatchSize})");
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) throw new ArgumentException($"the learning rate must be a positive number (got {LearningRate})");
        if (!(WarmupFraction >= 0 && WarmupFraction < 1)) throw new ArgumentException($"the warm-up fraction must be in [0, 1) (got {WarmupFraction})");
        if (!(WeightDecay >= 0) || double.IsInfinity(WeightDecay)) throw new ArgumentException($"the weight decay must be a number of 0 or more (got {WeightDecay})");
        if (!(ClipNorm > 0)) throw new ArgumentException($"the gradient clipping norm must be positive (got {ClipNorm})");
        if (Dtype is not (torch.ScalarType.Float32 or torch.ScalarType.BFloat16 or torch.ScalarType.Float16 or torch.ScalarType.Float64))
            throw new ArgumentException($"the network computes in a floating-point dtype (got {Dtype})");
    }
}
