namespace Flora;

/// <summary>One layer to adapt: where it lives and what it sets itself.</summary>
/// <param name="Slot">The layer's slot in its parent.</param>
/// <param name="Options">The target's own settings; unset ones are inherited from the model's.</param>
internal sealed record FloraTarget(ModuleSlot Slot, FloraTargetOptions Options);
