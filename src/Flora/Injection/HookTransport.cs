using System;
using System.Runtime.CompilerServices;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// How calls reach an adapter whose base layer stays in a member that cannot hold the adapter (a <c>readonly Conv2d</c>
/// field; TorchSharp's layer types are sealed): a forward pre-hook and a forward hook on the base layer, which TorchSharp
/// runs in <c>call(x)</c>. The hook adapts the base layer's output. When the adapter computes the whole output itself
/// (the fused path), the pre-hook hands the base layer an empty stand-in batch (<c>input.narrow(0, 0, 0)</c>, no work)
/// and the hook computes the output from the real input, found through that stand-in (one entry per call in flight, so
/// nested and repeated calls are independent).
/// <para>
/// The base layer's work is skipped only when it holds no hooks but these two: a user's hook must see the real batch and
/// keep its effect on the output. TorchSharp 0.107 offers no hook count (<see cref="ModuleHooks"/> reads its private
/// dictionaries); when that count cannot be read the base layer runs (fails closed).
/// </para>
/// Members that can hold the adapter reach it without any of this, and so do the calls the generator intercepts inside
/// an annotated model (<see cref="Route"/>): they go straight to the adapter while the base layer has no hooks of a user's.
/// </summary>
internal sealed class HookTransport : IDisposable
{
    // The transport of each hook-bound base layer, for the calls the generator routes (Internal.FloraCalls).
    private static readonly ConditionalWeakTable<nn.Module, HookTransport> Transports = new();

    /// <summary>The forward hooks a transport adds to its base layer: one pre-hook, one post-hook.</summary>
    private const int HooksPerTransport = 2;

    private readonly nn.Module<Tensor, Tensor> _layer;
    private readonly AdapterLayer _adapter;
    private readonly ConditionalWeakTable<Tensor, Tensor> _wholeCalls = new();
    private readonly Action _remove;

    /// <summary>Routes <paramref name="layer"/>'s calls through <paramref name="adapter"/> until disposed.</summary>
    public HookTransport(nn.Module<Tensor, Tensor> layer, AdapterLayer adapter)
    {
        _layer = layer;
        _adapter = adapter;
        var before = layer.register_forward_pre_hook((_, input) => Before(input)!);
        var after = layer.register_forward_hook((_, input, output) => After(input, output));
        _remove = () =>
        {
            Transports.Remove(layer);
            after.remove();
            before.remove();
        };
        Transports.AddOrUpdate(layer, this);
    }

    /// <summary>
    /// <paramref name="layer"/>'s output for <paramref name="input"/> as its <c>call(input)</c> gives it, without the hooks'
    /// detour when an adapter reaches it through them: the adapter's own forward (the fused path skips the base layer's
    /// work, no stand-in batch), unless the layer holds hooks of a user's, which must see the call.
    /// </summary>
    public static Tensor Route(nn.Module<Tensor, Tensor> layer, Tensor input) =>
        Transports.TryGetValue(layer, out var transport) && ModuleHooks.Count(layer) == HooksPerTransport
            ? transport._adapter.forward(input)
            : layer.call(input);

    private Tensor? Before(Tensor input)
    {
        if (ModuleHooks.Count(_layer) != HooksPerTransport || !_adapter.TakesWholeCall(input)) return null;
        Tensor standIn = input.narrow(0, 0, 0);
        _wholeCalls.AddOrUpdate(standIn, input);
        return standIn;
    }

    private Tensor After(Tensor input, Tensor baseOutput)
    {
        if (!_wholeCalls.TryGetValue(input, out Tensor? realInput))
            return _adapter.Adapt(input, baseOutput); // the base layer ran on the real batch (or another hook changed it)
        _wholeCalls.Remove(input);
        using (input)
        using (baseOutput)
            return _adapter.ForwardWholeCall(realInput);
    }

    /// <summary>Removes both hooks; the base layer computes alone again.</summary>
    public void Dispose() => _remove();
}
