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
    /// <summary>
    /// Houlsby et al. (2019): a bottleneck adapter <c>h + s·up(swish(down(h)))</c> after every target's output h, its width
    /// (<see cref="FloraModelOptions.AdapterSize"/>) matched to FLoRA's budget unless set. Cannot be merged.
    /// </summary>
    Houlsby,
    /// <summary>
    /// Pfeiffer et al. (2020): one bottleneck adapter <c>h + s·up(relu(down(h)))</c> per block, after the last target of
    /// each parent module (in a ResNet BasicBlock: after <c>conv2</c>), its width matched to the FLoRA budget of the
    /// block's targets unless set. Cannot be merged.
    /// </summary>
    Pfeiffer,
    /// <summary>
    /// AdaLoRA (Zhang et al. 2023): the SVD-form update <c>P·Λ·Q</c> whose ranks are reallocated by importance during
    /// training (<see cref="FloraAttachment.UpdateAndAllocate"/>), with an orthogonality regulariser
    /// (<see cref="FloraAttachment.OrthogonalRegularization"/>); its target rank matched to FLoRA's budget unless set
    /// (<see cref="FloraModelOptions.AdaLora"/>).
    /// </summary>
    AdaLora,
}
