using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// AdamW (Loshchilov and Hutter's decoupled weight decay): the same update as <c>torch.optim.AdamW</c>, with every
/// number held as a <c>Scalar</c> until its native call returns. TorchSharp 0.107's own AdamW passes temporary scalars
/// (<c>param.mul_(1 - lr * weight_decay)</c>, …) whose native memory the garbage collector may free while the call still
/// reads it; long training runs then crash at random ("Expected false to be true … toLong"). Use this one for long runs.
/// </summary>
/// <remarks>
/// A TorchSharp <see cref="optim.Optimizer"/>: <c>step()</c>, <c>zero_grad()</c> and <c>parameters()</c> work as on
/// <c>optim.AdamW</c>, and TorchSharp's learning-rate schedulers drive it through its one parameter group
/// (<c>optim.lr_scheduler.StepLR(optimizer, step_size: 10)</c>, then <c>scheduler.step()</c> after each epoch), and
/// <c>OneCycleLR</c> cycles <see cref="Betas"/> (<c>CyclicLR</c>'s momentum cycling needs SGD's momentum: pass
/// <c>cycle_momentum: false</c>, as for <c>optim.AdamW</c>). <see cref="Step"/>,
/// <see cref="ZeroGrad"/> and <see cref="LearningRate"/> are the same operations under .NET names.
/// Unlike <c>optim.AdamW</c> it has one parameter group (<c>add_param_group</c> is not supported), no AMSGrad and no
/// state dictionary.
/// <para>
/// The parameters' values and gradients live in one flat buffer each per dtype and device (<see cref="FlatParameters"/>:
/// every parameter stays the same object, its storage a view of the buffer), so a step is a few operations on whole
/// buffers however many tensors there are, and <see cref="ClipGradientNorm"/> clips all gradients with one norm. A
/// gradient that other code replaced (a module's or another optimizer's <c>zero_grad</c>) is copied back before use; a
/// parameter that received no gradient in a step is stepped with a zero gradient (its moments decay and its weight decays),
/// as <c>torch.optim.AdamW</c> does after <c>zero_grad(set_to_none: false)</c>. Give each parameter to one FloraAdamW at a
/// time: a newer one takes it over, and the older one then refuses to step. Create the optimizer after moving the model
/// to its device and dtype (<c>to()</c> replaces the parameter objects), as for any optimizer.
/// </para>
/// </remarks>
public sealed class FloraAdamW : optim.Optimizer, optim.IBetas
{
    private readonly Parameter[] _parameters;
    private readonly FlatParameters _flat;
    private IReadOnlyList<Parameter> _frozen = Array.Empty<Parameter>();
    private readonly Tensor?[] _exponentialAverage, _exponentialSquareAverage;
    private readonly Group _group;
    private bool _relinked;
    private long _step;

    /// <summary>Optimises <paramref name="parameters"/>.</summary>
    public FloraAdamW(IEnumerable<Parameter> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8, double weightDecay = 0.01)
        : base(IntPtr.Zero)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        _parameters = parameters.Distinct(ReferenceEqualityComparer.Instance).Cast<Parameter>().ToArray();
        if (_parameters.Length == 0) throw new ArgumentException("AdamW needs at least one parameter to optimise.", nameof(parameters));
        if (_parameters.All(p => !p.requires_grad))
            throw new ArgumentException("None of the parameters requires a gradient, so AdamW has nothing to train: pass the trainable ones " +
                                        "(FloraParameters(), attachment.Parameters()).", nameof(parameters));
        if (!(learningRate >= 0)) throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "the learning rate must be at least 0");
        _group = new Group(learningRate, CheckBetas((beta1, beta2)));
        Epsilon = epsilon;
        WeightDecay = weightDecay;
        _flat = new FlatParameters(_parameters.Where(p => p.requires_grad).ToArray());
        _exponentialAverage = new Tensor?[_flat.Buckets.Count];
        _exponentialSquareAverage = new Tensor?[_flat.Buckets.Count];
    }

    /// <summary>The learning rate of the next step: the one parameter group's, which a TorchSharp scheduler or your own schedule sets.</summary>
    public double LearningRate
    {
        get => _group.LearningRate;
        set => _group.LearningRate = value;
    }

    /// <summary>First-moment decay.</summary>
    public double Beta1 => _group.Betas.Item1;

    /// <summary>Second-moment decay.</summary>
    public double Beta2 => _group.Betas.Item2;

    /// <summary>Both decays, each in [0, 1): TorchSharp's <see cref="optim.IBetas"/>, which <c>OneCycleLR</c> cycles (its <c>cycle_momentum</c>).</summary>
    public (double, double) Betas
    {
        get => _group.Betas;
        set => _group.Betas = value;
    }

    /// <summary>Added to the denominator.</summary>
    public double Epsilon { get; }

    /// <summary>Decoupled weight decay.</summary>
    public double WeightDecay { get; }

    /// <summary>The one parameter group, through which TorchSharp's schedulers read and set the learning rate.</summary>
    public override IEnumerable<optim.ILearningRateController> ParamGroups => new[] { _group };

    /// <summary>The parameters this optimiser updates.</summary>
    public override IEnumerable<Parameter> parameters() => Array.AsReadOnly(_parameters);

    /// <summary>Drops every parameter's gradient (PyTorch's <c>zero_grad(set_to_none=True)</c>).</summary>
    public override void zero_grad()
    {
        _flat.EnsureOwned();
        _flat.ZeroGradients();
        _relinked = false;
    }

    /// <summary>Drops every parameter's gradient: <see cref="zero_grad"/>.</summary>
    public void ZeroGrad() => zero_grad();

    /// <summary>
    /// One update of every parameter that has a gradient. <paramref name="closure"/>, when given, is evaluated first
    /// with gradients enabled and its loss returned (as in TorchSharp's optimisers); otherwise the result is null.
    /// </summary>
    public override Tensor? step(Func<Tensor>? closure = null)
    {
        Tensor? loss = null;
        if (closure is not null)
        {
            using var enableGrad = enable_grad();
            loss = closure();
        }
        Update();
        return loss;
    }

    /// <summary>One update of every parameter that has a gradient: <see cref="step"/> without a closure.</summary>
    public void Step() => Update();

    /// <summary>Not supported: this optimiser has one parameter group.</summary>
    public override void add_param_group(ParamGroup param_group) =>
        throw new NotSupportedException("FloraAdamW has one parameter group; create one FloraAdamW per group of settings.");

    /// <summary>
    /// Scales every gradient so that their joint L2 norm is at most <paramref name="maxNorm"/> (<c>clip_grad_norm_</c>'s
    /// rule: the factor <c>maxNorm / (norm + 1e-6)</c>, at most 1) in one pass over the gradient buffers, and returns that
    /// norm before clipping as a tensor: reading it waits for the device, so nothing here does.
    /// </summary>
    public Tensor ClipGradientNorm(double maxNorm)
    {
        if (!(maxNorm > 0)) throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "the norm to clip at must be positive");
        EnsureGradients();
        using var noGrad = no_grad();
        Device device = _flat.Buckets[0].Gradients.device;
        Tensor total;
        if (_flat.Buckets.Count == 1)
        {
            total = _flat.Buckets[0].Gradients.norm();
        }
        else
        {
            var norms = _flat.Buckets.Select(b =>
            {
                using var norm = b.Gradients.norm();
                return norm.to(ScalarType.Float32, device);
            }).ToArray();
            using var stacked = stack(norms);
            total = stacked.norm();
            foreach (var norm in norms) norm.Dispose();
        }
        using var epsilon = 1e-6.ToScalar();
        using var limit = maxNorm.ToScalar();
        using var one = 1.0.ToScalar();
        using var denominator = total.add(epsilon);
        using var ratio = denominator.reciprocal().mul_(limit);
        using var factor = ratio.clamp_max(one);
        foreach (var bucket in _flat.Buckets)
        {
            using var local = factor.to(bucket.Gradients.dtype, bucket.Gradients.device);
            bucket.Gradients.mul_(local);
        }
        return total;
    }

    /// <summary>Makes sure every gradient is in the buffers (once per backward: zero_grad or a step starts the next).</summary>
    private void EnsureGradients()
    {
        _flat.EnsureOwned();
        if (_relinked) return;
        _frozen = _flat.Relink();
        _relinked = true;
    }

    private void Update()
    {
        EnsureGradients();
        _relinked = false;
        _step++;
        double learningRate = LearningRate, beta1Value = Beta1, beta2Value = Beta2;
        double correction1 = 1 - Math.Pow(beta1Value, _step), correction2 = 1 - Math.Pow(beta2Value, _step);
        using var decay = (1 - learningRate * WeightDecay).ToScalar();
        using var beta1 = beta1Value.ToScalar();
        using var oneMinusBeta1 = (1 - beta1Value).ToScalar();
        using var beta2 = beta2Value.ToScalar();
        using var oneMinusBeta2 = (1 - beta2Value).ToScalar();
        using var rootCorrection2 = Math.Sqrt(correction2).ToScalar();
        using var epsilon = Epsilon.ToScalar();
        using var stepSize = (-learningRate / correction1).ToScalar();
        using var noGrad = no_grad();
        // Parameters frozen after the optimizer was made keep their values (and their moments, which they no longer use).
        var held = _frozen.Select(p => (Parameter: p, Value: p.detach().clone())).ToArray();
        for (int i = 0; i < _flat.Buckets.Count; i++)
        {
            var bucket = _flat.Buckets[i];
            Tensor values = bucket.Values, gradients = bucket.Gradients;
            var average = _exponentialAverage[i] ??= zeros_like(values).DetachFromDisposeScope();
            var squareAverage = _exponentialSquareAverage[i] ??= zeros_like(values).DetachFromDisposeScope();
            // The same operations, in the same order for every element, as one parameter at a time.
            using var scope = NewDisposeScope(); // the handles the in-place operations return
            values.mul_(decay);
            average.mul_(beta1).add_(gradients, oneMinusBeta1);
            squareAverage.mul_(beta2).addcmul_(gradients, gradients, oneMinusBeta2);
            var root = squareAverage.sqrt();
            root.div_(rootCorrection2).add_(epsilon);
            values.addcdiv_(average, root, stepSize);
        }
        foreach (var (parameter, value) in held)
        {
            parameter.copy_(value);
            value.Dispose();
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (var tensor in _exponentialAverage.Concat(_exponentialSquareAverage)) tensor?.Dispose();
            Array.Clear(_exponentialAverage);
            Array.Clear(_exponentialSquareAverage);
            _flat.Dispose();
        }
        base.Dispose(disposing);
    }

    private static (double, double) CheckBetas((double Beta1, double Beta2) betas)
    {
        if (!(betas.Beta1 >= 0 && betas.Beta1 < 1) || !(betas.Beta2 >= 0 && betas.Beta2 < 1))
            throw new ArgumentOutOfRangeException("betas", betas, "betas must be in [0, 1)");
        return betas;
    }

    /// <summary>The one parameter group's learning rates and betas, as TorchSharp's schedulers read and set them.</summary>
    private sealed class Group : optim.ILearningRateController, optim.IBetas
    {
        private (double, double) _betas;

        public Group(double learningRate, (double, double) betas)
        {
            LearningRate = learningRate;
            InitialLearningRate = learningRate;
            _betas = betas;
        }

        public double LearningRate { get; set; }

        public double InitialLearningRate { get; set; }

        public (double, double) Betas
        {
            get => _betas;
            set => _betas = CheckBetas(value);
        }
    }
}
