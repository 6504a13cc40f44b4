using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// A bottleneck adapter (Houlsby et al. 2019; Pfeiffer et al. 2020) after a frozen base layer: with the base layer's
/// output h, <c>forward(x) = h + s·up(act(down(h)))</c>. <c>down</c> maps the layer's c output channels to the width m
/// (weight <c>[m, c]</c>, bias <c>[m]</c>), <c>up</c> maps them back (weight <c>[c, m]</c>, bias <c>[c]</c>); both act on
/// the output's channel axis: the last axis of a Linear's output, axis 1 of a batched convolution's (axis 0 unbatched)
/// as 1×1 convolutions (Conv-Adapter), whatever the convolution's kernel, stride or groups. The activation is swish
/// (SiLU) for <see cref="FloraMethod.Houlsby"/>, as AdapterHub's <c>HoulsbyConfig</c>, and ReLU for
/// <see cref="FloraMethod.Pfeiffer"/>; s is 1, AdapterHub's default scaling.
/// <para>
/// <c>down</c> starts with <c>kaiming_uniform_(a = √5)</c> as <c>nn.Linear</c>'s weight does (drawn in float32 on the
/// CPU, then moved: the same seed gives the same values on any device), its bias at zero, and <c>up</c> (weight and
/// bias) at zero, so the adapted layer starts exactly equal to the base layer. Beside a 16-bit base layer the tensors are
/// float32 by default (<see cref="FloraModelOptions.AutocastAdapterDtype"/>): the adapter then computes in float32 from
/// h cast to float32, adds in float32 and rounds the sum once to h's dtype.
/// </para>
/// The update is nonlinear in h, so it has no form as a change of the base weights: merging is refused
/// (<see cref="InvalidOperationException"/> naming the method); save the adapter instead. Adapter file keys:
/// <c>adapter_down.weight</c>, <c>adapter_down.bias</c>, <c>adapter_up.weight</c>, <c>adapter_up.bias</c>.
/// </summary>
public sealed class BottleneckAdapterLayer : AdapterLayer
{
    private const string DownName = "adapter_down";
    private const string UpName = "adapter_up";

    private static readonly string[] TensorNames =
    {
        DownName + "." + BottleneckProjection.WeightName, DownName + "." + BottleneckProjection.BiasName,
        UpName + "." + BottleneckProjection.WeightName, UpName + "." + BottleneckProjection.BiasName,
    };

    private readonly LayerGeometry _geometry;
    private readonly long[] _downKernel, _upKernel;
    private readonly Scalar? _scale;
    private (string Key, Parameter Tensor)[] _tensors = Array.Empty<(string, Parameter)>();
    private Parameter _down = null!, _downBias = null!, _up = null!, _upBias = null!;

    /// <summary>
    /// Wraps <paramref name="baseLayer"/> (computing as <paramref name="geometry"/> describes) with a bottleneck of width
    /// <paramref name="size"/> after it.
    /// </summary>
    internal BottleneckAdapterLayer(string name, nn.Module<Tensor, Tensor> baseLayer, LayerGeometry geometry, FloraMethod method, int size,
        double scale = 1.0, bool autocastAdapterDtype = true) : base(name, baseLayer)
    {
        ArgumentNullException.ThrowIfNull(geometry);
        if (method is not (FloraMethod.Houlsby or FloraMethod.Pfeiffer))
            throw new ArgumentException($"A bottleneck adapter is Houlsby or Pfeiffer, not {method}.", nameof(method));
        if (size < 1)
            throw new ArgumentException($"Adapter size {size} of '{name}' is less than 1: a bottleneck adapter is at least 1 wide. Use AdapterSize ≥ 1, or leave it unset to match FLoRA's budget.", nameof(size));
        if (!double.IsFinite(scale) || scale <= 0)
            throw new ArgumentException($"Scale {scale} of the {method} adapter of '{name}' is not a finite number greater than 0.", nameof(scale));
        Method = method;
        Size = size;
        Scale = scale;
        _geometry = geometry;
        _scale = scale == 1.0 ? null : scale.ToScalar();
        Parameter weight = geometry.Weight;
        WeightShape = weight.shape;
        Channels = geometry.OutChannels;
        long[] unitAxes = Enumerable.Repeat(1L, geometry.KernelAxes).ToArray();
        _downKernel = geometry.KernelAxes == 0 ? Array.Empty<long>() : new[] { size, Channels }.Concat(unitAxes).ToArray();
        _upKernel = geometry.KernelAxes == 0 ? Array.Empty<long>() : new[] { Channels, (long)size }.Concat(unitAxes).ToArray();
        ScalarType dtype = AdapterDtypeFor(weight, autocastAdapterDtype);
        using (no_grad())
        {
            // Drawn in float32 on the CPU, then moved: the same seed gives the same down projection on any device and dtype.
            using var initial = empty(new[] { (long)size, Channels }, dtype: ScalarType.Float32);
            nn.init.kaiming_uniform_(initial, a: Math.Sqrt(5));
            register_module(DownName, new BottleneckProjection(DownName,
                Owned(initial.to(dtype, weight.device)), Owned(zeros(new[] { (long)size }, dtype: dtype, device: weight.device))));
            register_module(UpName, new BottleneckProjection(UpName,
                Owned(zeros(new[] { Channels, (long)size }, dtype: dtype, device: weight.device)), Owned(zeros(new[] { Channels }, dtype: dtype, device: weight.device))));
        }
        RegisterComponents();
        RefreshTensors();
    }

    /// <inheritdoc />
    public override FloraMethod Method { get; }

    /// <summary>The bottleneck width m.</summary>
    public int Size { get; }

    /// <summary>The base layer's output channels c, on which the adapter acts.</summary>
    public long Channels { get; }

    /// <summary>The scale s of the update (1, AdapterHub's default).</summary>
    public double Scale { get; }

    /// <summary>The base layer's weight shape, recorded in adapter files to identify the layer.</summary>
    public long[] WeightShape { get; }

    /// <summary>The down projection's weight, <c>[m, c]</c>.</summary>
    public Parameter Down => _down;

    /// <summary>The down projection's bias, <c>[m]</c>.</summary>
    public Parameter DownBias => _downBias;

    /// <summary>The up projection's weight, <c>[c, m]</c>.</summary>
    public Parameter Up => _up;

    /// <summary>The up projection's bias, <c>[c]</c>.</summary>
    public Parameter UpBias => _upBias;

    /// <summary>The activation's name as AdapterHub writes it: <c>swish</c> (Houlsby) or <c>relu</c> (Pfeiffer).</summary>
    internal string Activation => Method == FloraMethod.Houlsby ? "swish" : "relu";

    /// <inheritdoc />
    public override IReadOnlyList<(string Key, Parameter Tensor)> AdapterTensors => _tensors;

    /// <inheritdoc />
    /// <remarks>The one rank is the width m.</remarks>
    public override AdapterSpec Spec => new(BaseLayer.GetType().Name, WeightShape, new[] { Size }, Scale);

    /// <inheritdoc />
    public override long TrainableParameters => BaselineSizeRules.BottleneckParameters(Channels, Size);

    /// <inheritdoc />
    public override string Describe() => $"m={Size} {Activation}";

    /// <inheritdoc />
    internal override string MergeRefusal =>
        $"{Method} adapters cannot be merged: the adapter of '{Name}' adds up({Activation}(down(h))) to the layer's output h, which is nonlinear in h, " +
        "so no change of the base weights computes it. Save the adapter (Save, SaveFlora), or keep it unmerged.";

    /// <inheritdoc />
    protected override Tensor ForwardUnmerged(Tensor input)
    {
        using var baseOutput = BaseLayer.forward(input);
        return AdaptUnmerged(input, baseOutput);
    }

    /// <inheritdoc />
    /// <remarks>The base output plus the update; in the adapter tensors' dtype, the sum rounded once to the output's.</remarks>
    protected override Tensor AdaptUnmerged(Tensor input, Tensor baseOutput)
    {
        ScalarType dtype = _down.dtype;
        if (baseOutput.dtype == dtype) return Adapted(baseOutput);
        using var h = baseOutput.to(dtype);
        using var sum = Adapted(h);
        return sum.to(baseOutput.dtype);
    }

    /// <inheritdoc />
    /// <remarks>
    /// With several active adapters a bottleneck adapter's update is computed from the base layer's output h, not from
    /// the running result, and added to it: <c>y = h + Σ s_i·up_i(act(down_i(h)))</c>, so the order of the active adapters
    /// does not matter (a stack that feeds one adapter's output into the next is another composition).
    /// </remarks>
    internal override Tensor AddContribution(Tensor input, Tensor baseOutput, Tensor result)
    {
        Tensor adapted = Adapt(input, baseOutput);
        if (ReferenceEquals(adapted, baseOutput)) return result;
        using (adapted)
        {
            using var update = adapted.sub(baseOutput);
            return result.Plus(update);
        }
    }

    private Tensor Adapted(Tensor h)
    {
        using var update = Update(h);
        return h.Plus(update);
    }

    /// <summary><c>s·up(act(down(h)))</c> over the channel axis of <paramref name="h"/> (in the adapter tensors' dtype).</summary>
    private Tensor Update(Tensor h)
    {
        bool unbatched = _geometry.KernelAxes > 0 && !_geometry.IsBatched(h.dim());
        using Tensor? batched = unbatched ? h.unsqueeze(0) : null;
        using var reduced = Project(batched ?? h, _down, _downBias, _downKernel);
        using var activated = Method == FloraMethod.Houlsby ? nn.functional.silu(reduced) : nn.functional.relu(reduced);
        Tensor update = Project(activated, _up, _upBias, _upKernel);
        if (_scale is not null)
        {
            using var unscaled = update;
            update = unscaled.mul(_scale);
        }
        if (!unbatched) return update;
        using (update) return update.squeeze(0);
    }

    /// <summary>A projection over the channel axis: <c>linear</c> on a Linear's output, a 1×1 convolution on a convolution's.</summary>
    private Tensor Project(Tensor x, Tensor weight, Tensor bias, long[] kernelShape)
    {
        if (kernelShape.Length == 0) return nn.functional.linear(x, weight, bias);
        using var kernel = weight.view(kernelShape);
        return _geometry.KernelAxes switch
        {
            1 => nn.functional.conv1d(x, kernel, bias),
            2 => nn.functional.conv2d(x, kernel, bias),
            _ => nn.functional.conv3d(x, kernel, bias),
        };
    }

    /// <inheritdoc />
    protected override void MergeIntoBase() => throw new InvalidOperationException(MergeRefusal);

    /// <inheritdoc />
    protected override void UnmergeFromBase() => throw new InvalidOperationException(MergeRefusal);

    /// <inheritdoc />
    /// <remarks>TorchSharp replaces the Parameter objects when a module moves or converts; the cached ones follow.</remarks>
    protected override void _toEpilog(ScalarType? dtype, Device? device, bool non_blocking)
    {
        base._toEpilog(dtype, device, non_blocking);
        RefreshTensors();
    }

    private void RefreshTensors()
    {
        _tensors = TensorNames.Select(name => (name, get_parameter(name)!)).ToArray();
        (_down, _downBias, _up, _upBias) = (_tensors[0].Tensor, _tensors[1].Tensor, _tensors[2].Tensor, _tensors[3].Tensor);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing) _scale?.Dispose();
        base.Dispose(disposing);
    }

    /// <summary>A parameter owned by this module: outside any dispose scope, so that it lives as long as the module.</summary>
    private static Parameter Owned(Tensor value) => (Parameter)new Parameter(value).DetachFromDisposeScope();
}
