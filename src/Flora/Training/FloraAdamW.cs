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
/// </remarks>
public sealed class FloraAdamW : optim.Optimizer, optim.IBetas
{
    private readonly Parameter[] _parameters;
    private readonly Tensor?[] _exponentialAverage, _exponentialSquareAverage;
    private readonly Group _group;
    private long _step;

    /// <summary>Optimises <paramref name="parameters"/>.</summary>
    public FloraAdamW(IEnumerable<Parameter> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8, double weightDecay = 0.01)
        : base(IntPtr.Zero)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        _parameters = parameters.ToArray();
        if (_parameters.Length == 0) throw new ArgumentException("AdamW needs at least one parameter to optimise.", nameof(parameters));
        if (!(learningRate >= 0)) throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "the learning rate must be at least 0");
        _group = new Group(learningRate, CheckBetas((beta1, beta2)));
        Epsilon = epsilon;
        WeightDecay = weightDecay;
        _exponentialAverage = new Tensor?[_parameters.Length];
        _exponentialSquareAverage = new Tensor?[_parameters.Length];
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
        foreach (var parameter in _parameters)
            parameter.grad = null;
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

    private void Update()
    {
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
        for (int i = 0; i < _parameters.Length; i++)
        {
            using var scope = NewDisposeScope();
            var parameter = _parameters[i];
            var grad = parameter.grad;
            if (grad is null) continue;
            var average = _exponentialAverage[i] ??= zeros_like(parameter).DetachFromDisposeScope();
            var squareAverage = _exponentialSquareAverage[i] ??= zeros_like(parameter).DetachFromDisposeScope();
            parameter.mul_(decay);
            average.mul_(beta1).add_(grad, oneMinusBeta1);
            squareAverage.mul_(beta2).addcmul_(grad, grad, oneMinusBeta2);
            var denominator = squareAverage.sqrt().div_(rootCorrection2).add_(epsilon);
            parameter.addcdiv_(average, denominator, stepSize);
        }
    }

    /// <summary>Frees the moment estimates (when disposing; the parameters stay the caller's).</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (var tensor in _exponentialAverage.Concat(_exponentialSquareAverage)) tensor?.Dispose();
            Array.Clear(_exponentialAverage);
            Array.Clear(_exponentialSquareAverage);
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
