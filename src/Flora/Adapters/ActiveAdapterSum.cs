using System;
using System.Collections.Generic;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// What a target's slot holds while several named adapters with a layer there are active
/// (<see cref="FloraAttachment.SetAdapters"/>): the base layer's output plus each active adapter's contribution, in the
/// order the adapters were set (PEFT's loop over <c>active_adapters</c>): <c>y = W0 x + Σ s_i·Δ_i(x)</c> for weight-delta
/// adapters; DoRA and the bottleneck adapters contribute as <see cref="AdapterLayer.AddContribution"/> defines. The
/// members stay outside the model's module tree (their tensors are the attachment's); a move or dtype conversion of the
/// model reaches them through this wrapper, and their train/eval mode follows it.
/// <para>
/// The sum is never merged itself: merging acts on its members, each of which then adds nothing here. With one active
/// adapter the slot holds that adapter's layer alone, and none of this runs.
/// </para>
/// </summary>
internal sealed class ActiveAdapterSum : AdapterLayer
{
    private readonly AdapterLayer[] _members;

    public ActiveAdapterSum(string name, nn.Module<Tensor, Tensor> baseLayer, AdapterLayer[] members) : base(name, baseLayer)
    {
        if (members.Length < 2) throw new ArgumentException("A sum of adapters needs two or more.", nameof(members));
        _members = members;
        RegisterComponents();
    }

    /// <summary>The active adapters' layers on this target, in the order their contributions are added.</summary>
    public IReadOnlyList<AdapterLayer> Members => _members;

    /// <inheritdoc />
    public override FloraMethod Method => _members[0].Method;

    /// <inheritdoc />
    /// <remarks>The members' tensors are their own; the sum holds none.</remarks>
    public override IReadOnlyList<(string Key, Parameter Tensor)> AdapterTensors => Array.Empty<(string, Parameter)>();

    /// <inheritdoc />
    public override AdapterSpec Spec => _members[0].Spec;

    /// <inheritdoc />
    public override long TrainableParameters => 0;

    /// <inheritdoc />
    public override string Describe() => $"sum of {_members.Length} adapters";

    /// <inheritdoc />
    internal override string MergeRefusal =>
        $"The layer '{Name}' holds the sum of {_members.Length} active adapters; merge them through the attachment (Merge, MergeFlora), which merges each.";

    /// <inheritdoc />
    protected override Tensor ForwardUnmerged(Tensor input)
    {
        Tensor baseOutput = BaseLayer.forward(input);
        Tensor output = AdaptUnmerged(input, baseOutput);
        if (!ReferenceEquals(output, baseOutput)) baseOutput.Dispose();
        return output;
    }

    /// <inheritdoc />
    /// <remarks>Returns <paramref name="baseOutput"/> itself when no member adds anything (all merged).</remarks>
    protected override Tensor AdaptUnmerged(Tensor input, Tensor baseOutput)
    {
        Tensor result = baseOutput;
        foreach (var member in _members)
        {
            if (member.training != training) member.train(training);
            Tensor next = member.AddContribution(input, baseOutput, result);
            if (!ReferenceEquals(result, baseOutput) && !ReferenceEquals(next, result)) result.Dispose();
            result = next;
        }
        return result;
    }

    /// <inheritdoc />
    protected override void MergeIntoBase() => throw new InvalidOperationException(MergeRefusal);

    /// <inheritdoc />
    protected override void UnmergeFromBase() => throw new InvalidOperationException(MergeRefusal);

    /// <inheritdoc />
    /// <remarks>The members are outside the model's module tree: they move and convert with their slot.</remarks>
    protected override void _toEpilog(ScalarType? dtype, Device? device, bool non_blocking)
    {
        base._toEpilog(dtype, device, non_blocking);
        foreach (var member in _members)
        {
            if (dtype is ScalarType type) member.to(type, non_blocking);
            if (device is not null) member.to(device, non_blocking);
        }
    }
}
