using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// An optimizer's parameters laid out in flat buffers, one per dtype and device: each parameter keeps its identity (the
/// module still holds it, <c>state_dict</c> and adapter files still read it) but its values become a view of the values
/// buffer (<c>set_</c>) and its gradient a view of the gradients buffer, into which autograd accumulates in place. An
/// update is then a few operations on whole buffers, whatever the number of tensors: FLoRA's five small tensors per
/// layer cost what LoRA's two do (PyTorch's <c>foreach</c>/<c>fused</c> optimizers and apex's flat buffers do the same).
/// <para>
/// Gradients another piece of code replaced (TorchSharp's <c>zero_grad</c> of a module or of another optimizer sets them
/// to null; the next backward allocates new ones) are found before each use (<see cref="Relink"/>: a gradient whose
/// storage offset is not its view's) and copied back into the buffer, so nothing is lost; a parameter without a gradient
/// counts as a zero gradient. A parameter frozen since (<c>requires_grad</c> false) is listed by <see cref="Relink"/>, so
/// that an update can leave it as it is. Each parameter belongs to one owner at a time: a second owner over the same
/// parameters takes them over, and the first refuses to step them (<see cref="EnsureOwned"/>).
/// </para>
/// </summary>
internal sealed class FlatParameters : IDisposable
{
    private static readonly ConditionalWeakTable<Parameter, FlatParameters> Owners = new();
    private readonly Bucket[] _buckets;

    /// <summary>Lays <paramref name="parameters"/> (distinct, trainable) out in buffers and links their gradients.</summary>
    public FlatParameters(IReadOnlyList<Parameter> parameters)
    {
        _buckets = parameters.GroupBy(p => (p.dtype, p.device_type, p.device_index)).Select(g => new Bucket(g.ToArray())).ToArray();
        foreach (var parameter in parameters) Owners.AddOrUpdate(parameter, this);
    }

    /// <summary>The buffers, one per dtype and device.</summary>
    public IReadOnlyList<Bucket> Buckets => _buckets;

    /// <summary>Throws when another owner took over some of these parameters.</summary>
    public void EnsureOwned()
    {
        foreach (var bucket in _buckets)
            foreach (var member in bucket.Members)
                if (!Owners.TryGetValue(member.Parameter, out var owner) || !ReferenceEquals(owner, this))
                    throw new InvalidOperationException("Another FloraAdamW now optimises these parameters (each parameter has one at a time: its values and " +
                                                        "gradient live in that optimizer's buffers). Step the newer optimizer, or create this one again.");
    }

    /// <summary>
    /// Puts every gradient back into the gradients buffer where other code replaced it (see the class remarks); returns
    /// the parameters frozen since (<c>requires_grad</c> false), which an update must leave as they are.
    /// </summary>
    public IReadOnlyList<Parameter> Relink()
    {
        var frozen = new List<Parameter>();
        foreach (var bucket in _buckets) bucket.Relink(frozen);
        return frozen;
    }

    /// <summary>Zeroes every gradient (the buffers; the views stay).</summary>
    public void ZeroGradients()
    {
        foreach (var bucket in _buckets) bucket.ZeroGradients();
    }

    public void Dispose()
    {
        foreach (var bucket in _buckets)
        {
            foreach (var member in bucket.Members)
                if (Owners.TryGetValue(member.Parameter, out var owner) && ReferenceEquals(owner, this)) Owners.Remove(member.Parameter);
            bucket.Dispose();
        }
    }

    /// <summary>One parameter in its bucket: where its elements start (never 0: element 0 pads) and its gradient's view.</summary>
    internal readonly record struct Member(Parameter Parameter, long Offset, Tensor Gradient);

    /// <summary>The parameters of one dtype and device: values and gradients in two buffers, element 0 of each unused.</summary>
    internal sealed class Bucket : IDisposable
    {
        public Bucket(Parameter[] parameters)
        {
            long total = 1 + parameters.Sum(p => p.numel());
            Parameter first = parameters[0];
            Values = zeros(total, dtype: first.dtype, device: first.device).DetachFromDisposeScope();
            Gradients = zeros(total, dtype: first.dtype, device: first.device).DetachFromDisposeScope();
            var members = new Member[parameters.Length];
            long offset = 1;
            using (no_grad())
            {
                for (int i = 0; i < parameters.Length; i++)
                {
                    Parameter parameter = parameters[i];
                    long count = parameter.numel();
                    long[] shape = parameter.shape;
                    using (var values = Values.narrow(0, offset, count))
                    {
                        using var flat = parameter.detach().reshape(-1);
                        values.copy_(flat);
                        using var view = values.view(shape);
                        parameter.set_(view);
                    }
                    Tensor gradient;
                    using (var slice = Gradients.narrow(0, offset, count)) gradient = slice.view(shape).DetachFromDisposeScope();
                    using (var existing = parameter.grad)
                        if (existing is not null) gradient.copy_(existing);
                    parameter.grad = gradient;
                    members[i] = new Member(parameter, offset, gradient);
                    offset += count;
                }
            }
            Members = members;
        }

        /// <summary>Every parameter's values (a view each).</summary>
        public Tensor Values { get; }

        /// <summary>Every parameter's gradient (a view each).</summary>
        public Tensor Gradients { get; }

        public IReadOnlyList<Member> Members { get; }

        public void Relink(List<Parameter> frozen)
        {
            using var noGrad = no_grad();
            foreach (var (parameter, offset, view) in Members)
            {
                if (!parameter.requires_grad) frozen.Add(parameter);
                using var gradient = parameter.grad;
                if (gradient is not null && gradient.storage_offset() == offset) continue;
                if (gradient is null) view.zero_();
                else view.copy_(gradient);
                parameter.grad = view;
            }
        }

        public void ZeroGradients()
        {
            using var noGrad = no_grad();
            Gradients.zero_();
        }

        public void Dispose()
        {
            foreach (var member in Members) member.Gradient.Dispose();
            Values.Dispose();
            Gradients.Dispose();
        }
    }
}
