namespace Flora.Reports;

/// <summary>Which fine-tuning method a run used (drives colours and grouping in the plots).</summary>
public enum MethodKind
{
    /// <summary>Every parameter of the model trains.</summary>
    FullFineTuning,
    /// <summary>Only biases train.</summary>
    BitFit,
    /// <summary>LoRA adapters.</summary>
    Lora,
    /// <summary>DoRA adapters (LoRA plus a learned magnitude).</summary>
    Dora,
    /// <summary>FLoRA adapters (Tucker core plus one factor per mode).</summary>
    Flora,
    /// <summary>Anything else.</summary>
    Other,
    /// <summary>Houlsby bottleneck adapters after every target (the paper's HAdapter).</summary>
    Houlsby,
    /// <summary>Pfeiffer bottleneck adapters, one per block (the paper's PAdapter).</summary>
    Pfeiffer,
    /// <summary>AdaLoRA: SVD-form LoRA whose ranks are reallocated by importance while training.</summary>
    AdaLora,
}
