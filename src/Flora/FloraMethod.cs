namespace Flora;

/// <summary>The adaptation method attached to a model's targets.</summary>
public enum FloraMethod
{
    /// <summary>FLoRA: a Tucker core and one factor per mode, the kernel's structure kept.</summary>
    Flora,
    /// <summary>LoRA at the budget matched to FLoRA's (per target, closest trainable count).</summary>
    Lora,
    /// <summary>DoRA: LoRA plus a learned magnitude per output channel, at the matched budget.</summary>
    Dora,
    /// <summary>BitFit: only the targets' biases train.</summary>
    BitFit,
}
