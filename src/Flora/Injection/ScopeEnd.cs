using System;

namespace Flora;

/// <summary>A scope that runs its end once, however often it is disposed (<see cref="FloraAttachment.Disable"/>, <see cref="FloraAttachment.MixedBatch"/>).</summary>
internal sealed class ScopeEnd : IDisposable
{
    private Action? _end;

    public ScopeEnd(Action end) => _end = end;

    public void Dispose()
    {
        _end?.Invoke();
        _end = null;
    }
}
