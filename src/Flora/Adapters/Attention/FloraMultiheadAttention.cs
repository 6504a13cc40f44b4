using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// A TorchSharp <see cref="MultiheadAttention"/> with adapters on its two projections, as PEFT's LoRA
/// <c>MultiheadAttention</c> layer adapts it: <c>in_proj</c> (<c>in_proj_weight</c> <c>[3E, E]</c> as a whole, one adapter
/// for q, k and v; docs/BENCHMARKS.md gives the numbers behind that choice) and <c>out_proj</c> (<c>[E, E]</c>). Each
/// projection takes an ordinary adapter over a Linear view of the attention layer's own weight and bias
/// (<see cref="InProjection"/>, <see cref="OutProjection"/>: FLoRA, LoRA or BitFit), with the paths <c>{layer}.in_proj</c>
/// and <c>{layer}.out_proj</c> in the attachment and in adapter files; merge, unmerge, disable, save and load act on them as
/// on any adapter. DoRA (which PEFT refuses for this layer too), AdaLoRA, Houlsby and Pfeiffer are refused naming the layer.
/// <para>
/// Its call has the base layer's signature and returns what it returns: <c>(output [L, N, E], weights [N, L, S])</c>,
/// the weights averaged over heads, or an empty tensor when <c>need_weights</c> is false. TorchSharp 0.107 computes the
/// attention natively from its own weights and exposes neither the number of heads nor <c>add_zero_attn</c>, so the
/// wrapper computes it (<see cref="MultiheadAttentionMath"/>) with the projections as calls, having found those settings
/// once by comparing its output with the base layer's on a probe input. A base layer built with attention dropout is
/// refused: its probability cannot be read back.
/// </para>
/// While attached, the wrapper is registered in the base layer's place (the base layer as its <c>base_layer</c>), and a
/// member that holds the base layer reaches it through forward hooks on the base layer: its <c>call(…)</c> then returns
/// the adapted result (the base layer itself runs on a one-element stand-in). A direct <c>forward(…)</c> on the base layer
/// bypasses the hooks, as for every hook-bound target.
/// </summary>
public sealed class FloraMultiheadAttention : nn.Module<Tensor, Tensor, Tensor, Tensor?, bool, Tensor?, Tuple<Tensor, Tensor>>, ISlotHost
{
    private const string InProjectionName = "in_proj";
    private const string OutProjectionName = "out_proj";

    // TorchSharp registers a module's Module-typed fields as its children (RegisterComponents, which it may also run by
    // itself): only these three are; the views and the parent are kept in fields of other types.
    [ComponentName(Name = "base_layer")]
    private readonly MultiheadAttention _base;

    [ComponentName(Name = InProjectionName)]
    private nn.Module<Tensor, Tensor> _inProjection;

    [ComponentName(Name = OutProjectionName)]
    private nn.Module<Tensor, Tensor> _outProjection;

    private readonly (MultiheadAttentionProjection In, MultiheadAttentionProjection Out) _views;
    private readonly (nn.Module Parent, string Name) _slot;
    private readonly Stack<(Tensor Query, Tensor Key, Tensor Value, Tensor? KeyPaddingMask, bool NeedWeights, Tensor? AttnMask)> _pending = new();
    private (Parameter? K, Parameter? V) _biasKv;
    private int _acquired;
    private Action? _uninstall;

    private FloraMultiheadAttention(nn.Module parent, string registeredName, string path, MultiheadAttention baseLayer) : base(nameof(FloraMultiheadAttention))
    {
        _slot = (parent, registeredName);
        Path = path;
        _base = baseLayer;
        if (baseLayer.get_parameter("in_proj_weight") is null)
            throw new ArgumentException($"'{path}' is a MultiheadAttention with kdim or vdim unlike its embed_dim (separate q, k and v weights): only one " +
                                        "in_proj_weight can be adapted, as in PEFT. Build it with kdim = vdim = embed_dim, or leave it out of the targets.");
        _views = (new MultiheadAttentionProjection(baseLayer, InProjectionName, "in_proj_weight", "in_proj_bias"),
            new MultiheadAttentionProjection(baseLayer, OutProjectionName, "out_proj.weight", "out_proj.bias"));
        _inProjection = _views.In;
        _outProjection = _views.Out;
        Layout = MultiheadAttentionProbe.Layout(path, baseLayer);
        RegisterComponents();
        Refresh();
    }

    /// <summary>The wrapper of <paramref name="baseLayer"/>, registered as <paramref name="registeredName"/> in <paramref name="parent"/> at <paramref name="path"/>; throws naming the layer when it cannot be adapted.</summary>
    internal static FloraMultiheadAttention Wrap(nn.Module parent, string registeredName, string path, MultiheadAttention baseLayer) =>
        new(parent, registeredName, path, baseLayer);

    /// <summary>The wrapped base layer.</summary>
    public MultiheadAttention Base => _base;

    /// <summary>The layer's path in the model; its projections' adapters are at <c>{Path}.in_proj</c> and <c>{Path}.out_proj</c>.</summary>
    public string Path { get; }

    /// <summary>The adapter on <c>in_proj_weight</c> (q, k and v together), or null while none is attached.</summary>
    public IFloraAdapter? InProjection => _inProjection as IFloraAdapter;

    /// <summary>The adapter on <c>out_proj</c>, or null while none is attached.</summary>
    public IFloraAdapter? OutProjection => _outProjection as IFloraAdapter;

    internal MultiheadAttentionLayout Layout { get; }

    /// <summary>
    /// The materialised updates <c>s·ΔW</c> of both projections, in the shapes of <c>in_proj_weight</c> <c>[3E, E]</c> and
    /// <c>out_proj.weight</c> <c>[E, E]</c>. Throws for BitFit (no weight update) or while no adapter is attached.
    /// </summary>
    public (Tensor InProjection, Tensor OutProjection) Delta() => (DeltaOf(_inProjection, InProjectionName), DeltaOf(_outProjection, OutProjectionName));

    private Tensor DeltaOf(nn.Module<Tensor, Tensor> projection, string name) => projection is DeltaAdapterLayer delta
        ? delta.Delta()
        : throw new InvalidOperationException($"'{Path}.{name}' has {(projection is IFloraAdapter a ? $"a {a.Method} adapter, which updates no weight" : "no adapter attached")}: Delta() serves FLoRA and LoRA.");

    /// <inheritdoc />
    public override Tuple<Tensor, Tensor> forward(Tensor query, Tensor key, Tensor value, Tensor? key_padding_mask, bool need_weights, Tensor? attn_mask)
    {
        var (output, weights) = MultiheadAttentionMath.Forward(Layout, _inProjection.forward, _outProjection.forward, query, key, value, key_padding_mask, need_weights,
            attn_mask, _biasKv.K, _biasKv.V, dropout: 0, training);
        return Tuple.Create(output, weights ?? empty(0, dtype: output.dtype, device: output.device));
    }

    /// <inheritdoc />
    /// <remarks>TorchSharp replaces the base layer's Parameter objects when the model moves or converts; the kept ones follow.</remarks>
    protected override void _toEpilog(ScalarType? dtype, Device? device, bool non_blocking)
    {
        base._toEpilog(dtype, device, non_blocking);
        Refresh();
    }

    /// <summary>Reads the base layer's projection weights and <c>bias_k</c>/<c>bias_v</c> again, so that forward looks nothing up by name.</summary>
    private void Refresh()
    {
        _views.In.Refresh();
        _views.Out.Refresh();
        _biasKv = (_base.get_parameter("bias_k"), _base.get_parameter("bias_v"));
    }

    /// <summary>The targets of the two projections, for the attachment (slots inside this wrapper, hosted by it).</summary>
    internal IEnumerable<FloraTarget> Targets(FloraTargetOptions options) => new[]
    {
        new FloraTarget(new ModuleSlot(this, InProjectionName, _views.In, module => _inProjection = module, $"{Path}.{InProjectionName}", host: this), options),
        new FloraTarget(new ModuleSlot(this, OutProjectionName, _views.Out, module => _outProjection = module, $"{Path}.{OutProjectionName}", host: this), options),
    };

    /// <summary>Routes the base layer's calls here and registers this wrapper in its place, when the first projection takes an adapter.</summary>
    void ISlotHost.Acquire()
    {
        if (_acquired++ > 0) return;
        Refresh(); // the model may have moved while this wrapper was out of it
        var before = _base.register_forward_pre_hook((_, query, key, value, mask, needWeights, attnMask) => Before(query, key, value, mask, needWeights, attnMask));
        var after = _base.register_forward_hook((_, _, _, _, _, _, _, output) => After(output));
        string registered = Injection.Reregister(_slot.Parent, _base, _slot.Name, this);
        _uninstall = () =>
        {
            Injection.Reregister(_slot.Parent, this, registered, _base);
            after.remove();
            before.remove();
        };
    }

    /// <summary>Gives the base layer its calls and its registration back, when the last projection's adapter is taken out.</summary>
    void ISlotHost.Release()
    {
        if (--_acquired > 0) return;
        _uninstall?.Invoke();
        _uninstall = null;
    }

    private (Tensor, Tensor, Tensor, Tensor?, bool, Tensor?)? Before(Tensor query, Tensor key, Tensor value, Tensor? keyPaddingMask, bool needWeights, Tensor? attnMask)
    {
        _pending.Push((query, key, value, keyPaddingMask, needWeights, attnMask));
        // The base layer runs on one position of one sequence (no work to speak of); After computes the real result.
        return (StandIn(query), StandIn(key), StandIn(value), null, false, null);
    }

    private static Tensor StandIn(Tensor input) => input.narrow(0, 0, 1).narrow(1, 0, 1);

    private Tuple<Tensor, Tensor> After(Tuple<Tensor, Tensor> standInOutput)
    {
        standInOutput.Item1.Dispose();
        standInOutput.Item2.Dispose();
        var (query, key, value, keyPaddingMask, needWeights, attnMask) = _pending.Pop();
        return forward(query, key, value, keyPaddingMask, needWeights, attnMask);
    }
}
