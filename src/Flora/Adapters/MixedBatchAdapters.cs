using System;
using System.Collections.Generic;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// What a target's slot holds inside <see cref="FloraAttachment.MixedBatch"/> (PEFT's <c>adapter_names</c>): the base
/// layer's output for the whole batch, then, for each adapter named for some rows, those rows adapted by that adapter's
/// layer (<c>base(x_rows) + s·Δ(x_rows)</c>) — one forward for a batch whose rows belong to different tasks. Rows named
/// <c>"__base__"</c> (or whose adapter has no layer here) keep the base output. Eval mode only.
/// </summary>
internal sealed class MixedBatchAdapters : AdapterLayer
{
    private readonly (AdapterLayer Layer, Tensor Rows)[] _groups;
    private readonly long _batchSize;

    /// <summary><paramref name="groups"/>: each adapter's layer here with the indices of its rows (on the base weight's device), of a batch of <paramref name="batchSize"/>.</summary>
    public MixedBatchAdapters(string name, nn.Module<Tensor, Tensor> baseLayer, (AdapterLayer Layer, Tensor Rows)[] groups, long batchSize) : base(name, baseLayer)
    {
        _groups = groups;
        _batchSize = batchSize;
        RegisterComponents();
    }

    /// <inheritdoc />
    public override FloraMethod Method => _groups.Length > 0 ? _groups[0].Layer.Method : FloraMethod.Lora;

    /// <inheritdoc />
    /// <remarks>The adapters' tensors are their own; the mixed batch holds none.</remarks>
    public override IReadOnlyList<(string Key, Parameter Tensor)> AdapterTensors => Array.Empty<(string, Parameter)>();

    /// <inheritdoc />
    public override AdapterSpec Spec => _groups.Length > 0 ? _groups[0].Layer.Spec : new AdapterSpec(BaseLayer.GetType().Name, Array.Empty<long>(), Array.Empty<int>(), 1.0);

    /// <inheritdoc />
    public override long TrainableParameters => 0;

    /// <inheritdoc />
    public override string Describe() => $"mixed batch of {_groups.Length} adapters";

    /// <inheritdoc />
    internal override string MergeRefusal => $"The layer '{Name}' computes a mixed batch; end the MixedBatch scope before merging.";

    /// <inheritdoc />
    protected override Tensor ForwardUnmerged(Tensor input)
    {
        using var baseOutput = BaseLayer.forward(input);
        return AdaptUnmerged(input, baseOutput);
    }

    /// <inheritdoc />
    protected override Tensor AdaptUnmerged(Tensor input, Tensor baseOutput)
    {
        if (training)
            throw new InvalidOperationException($"A mixed batch runs in eval mode only (PEFT refuses adapter_names while training): '{Name}' is in train mode. Call model.eval(), or end the MixedBatch scope to train.");
        if (input.dim() == 0 || input.size(0) != _batchSize)
            throw new ArgumentException($"The mixed batch names {_batchSize} rows, but '{Name}' got an input of shape [{string.Join(", ", input.shape)}]: " +
                                        "give one adapter name per row of the batch (the first axis).");
        Tensor result = baseOutput.clone();
        foreach (var (layer, rows) in _groups)
        {
            if (layer.training) layer.train(false);
            using var x = input.index_select(0, rows);
            using var h = baseOutput.index_select(0, rows);
            Tensor adapted = layer.Adapt(x, h);
            using (ReferenceEquals(adapted, h) ? null : adapted)
                result.index_copy_(0, rows, adapted);
        }
        return result;
    }

    /// <inheritdoc />
    protected override void MergeIntoBase() => throw new InvalidOperationException(MergeRefusal);

    /// <inheritdoc />
    protected override void UnmergeFromBase() => throw new InvalidOperationException(MergeRefusal);

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
            foreach (var (_, rows) in _groups) rows.Dispose();
        base.Dispose(disposing);
    }
}
