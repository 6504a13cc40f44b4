using System;
using System.ComponentModel;
using static TorchSharp.torch;

namespace Flora.Internal;

/// <summary>
/// What the generator's interceptors call for <c>member.call(x)</c> and <c>member.forward(x)</c> on a hook-bound
/// <c>[FloraTarget]</c> member inside an annotated model: the member's adapter directly, as its <c>call(x)</c> would
/// reach it through hooks but without their cost (the hand-off and, on the fused path, the base layer's call on an empty
/// batch); the base layer's <c>call(x)</c> when no adapter is attached or the layer holds hooks of a user's. For
/// generated code, not for users.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class FloraCalls
{
    /// <summary><paramref name="layer"/>.call(<paramref name="input"/>), straight to its adapter where it has one.</summary>
    public static Tensor Call(nn.Module<Tensor, Tensor> layer, Tensor input)
    {
        ArgumentNullException.ThrowIfNull(layer);
        return HookTransport.Route(layer, input);
    }
}
