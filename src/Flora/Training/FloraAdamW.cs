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
public sealed class FloraAdamW : IDisposable
{
    private readonly Parameter[] _parameters;
    private readonly Tensor?[] _exponentialAverage, _exponentialSquareAverage;
    private long _step;

    /// <summary>Optimises <paramref name="parameters"/>.</summary>
    public FloraAdamW(IEnumerable<Parameter> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8, double weightDecay = 0.01)
    {
        _parameters = parameters.ToArray();
        if (_parameters.Length == 0) throw new ArgumentException("AdamW needs at least one parameter to optimise.", nameof(parameters));
        if (!(learningRate >= 0)) throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "the learning rate must be at least 0");
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) throw new ArgumentOutOfRangeException(nameof(beta1), "betas must be in [0, 1)");
        LearningRate = learningRate;
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        WeightDecay = weightDecay;
        _exponentialAverage = new Tensor?[_parameters.Length];
        _exponentialSquareAverage = new Tensor?[_parameters.Length];
    }

    /// <summary>The learning rate of the next step (a schedule sets it before each step).</summary>
    public double LearningRate { get; set; }

    /// <summary>First-moment decay.</summary>
    public double Beta1 { get; }

    /// <summary>Second-moment decay.</summary>
    public double Beta2 { get; }

    /// <summary>Added to the denominator.</summary>
    public double Epsilon { get; }

    /// <summary>Decoupled weight decay.</summary>
    public double WeightDecay { get; }

    /// <summary>Drops every parameter's gradient.</summary>
    public void ZeroGrad()
    {
        foreach (var parameter in _parameters)
            parameter.grad = null;
    }

    /// <summary>One update of every parameter that has a gradient.</summary>
    public void Step()
    {
        _step++;
        double correction1 = 1 - Math.Pow(Beta1, _step), correction2 = 1 - Math.Pow(Beta2, _step);
        using var decay = (1 - LearningRate * WeightDecay).ToScalar();
        using var beta1 = Beta1.ToScalar();
        using var oneMinusBeta1 = (1 - Beta1).ToScalar();
        using var beta2 = Beta2.ToScalar();
        using var oneMinusBeta2 = (1 - Beta2).ToScalar();
        using var rootCorrection2 = Math.Sqrt(correction2).ToScalar();
        using var epsilon = Epsilon.ToScalar();
        using var stepSize = (-LearningRate / correction1).ToScalar();
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

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var tensor in _exponentialAverage.Concat(_exponentialSquareAverage)) tensor?.Dispose();
        Array.Clear(_exponentialAverage);
        Array.Clear(_exponentialSquareAverage);
    }
}
