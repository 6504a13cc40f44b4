namespace Flora;

/// <summary>
/// A wrapper whose slots take adapters while the wrapper itself stands in the model for a layer of another call signature
/// (<see cref="FloraMultiheadAttention"/>): the first injection into one of its slots puts it into the model, the last
/// removal takes it out again.
/// </summary>
internal interface ISlotHost
{
    /// <summary>Called after an adapter went into one of the wrapper's slots.</summary>
    void Acquire();

    /// <summary>Called after an adapter left one of the wrapper's slots.</summary>
    void Release();
}
