using TorchSharp.Modules;

namespace Flora.Tests.Training;

/// <summary>
/// FloraAdamW makes the same updates as TorchSharp's AdamW (the reference formulation) and as AdamW's formula written out
/// in double precision, and is a TorchSharp optimizer: its schedulers drive its learning rate.
/// </summary>
public class FloraAdamWTests
{
    [Theory]
    [InlineData(1e-2, 0.0)]
    [InlineData(3e-3, 0.05)]
    public void Steps_match_torch_optim_AdamW(double learningRate, double weightDecay)
    {
        using var scope = torch.NewDisposeScope();
        var ours = new[] { new Parameter(TestTensors.Randn(new long[] { 4, 3 }, seed: 1)), new Parameter(TestTensors.Randn(new long[] { 5 }, seed: 2)) };
        var theirs = ours.Select(p => new Parameter(p.detach().clone())).ToArray();
        using var floraAdamW = new FloraAdamW(ours, learningRate, weightDecay: weightDecay);
        using var torchAdamW = torch.optim.AdamW(theirs, lr: learningRate, weight_decay: weightDecay);
        for (int step = 0; step < 25; step++)
        {
            using var stepScope = torch.NewDisposeScope();
            var target = TestTensors.Randn(new long[] { 4, 3 }, seed: 100 + step);
            floraAdamW.ZeroGrad();
            torchAdamW.zero_grad();
            ((ours[0] - target).square().sum() + ours[1].pow(3).sum()).backward();
            ((theirs[0] - target).square().sum() + theirs[1].pow(3).sum()).backward();
            floraAdamW.Step();
            torchAdamW.step();
        }
        for (int i = 0; i < ours.Length; i++)
            TestTensors.AssertClose(theirs[i], ours[i], 1e-5, 1e-6, $"parameter {i} after 25 steps");
    }

    [Fact]
    public void Frozen_parameters_stay_put_and_bad_settings_are_refused()
    {
        // A frozen parameter (requires_grad false) in the list, and one frozen after the optimizer was made, keep their
        // values; a trainable one that got no gradient is stepped with a zero gradient (weight decay 0.1·0.5 applies), as
        // torch's AdamW does after zero_grad(set_to_none: false).
        var frozen = new Parameter(torch.ones(3), requires_grad: false);
        var frozenLater = new Parameter(torch.ones(3));
        var unused = new Parameter(torch.ones(3));
        using var optimizer = new FloraAdamW(new[] { frozen, frozenLater, unused }, 0.1, weightDecay: 0.5);
        frozenLater.requires_grad = false;
        optimizer.Step();
        Assert.Equal(new[] { 1f, 1f, 1f }, frozen.data<float>().ToArray());
        Assert.Equal(new[] { 1f, 1f, 1f }, frozenLater.data<float>().ToArray());
        Assert.Equal(new[] { 0.95f, 0.95f, 0.95f }, unused.data<float>().ToArray());
        Assert.Throws<ArgumentException>(() => new FloraAdamW(new[] { frozen }));
        Assert.Throws<ArgumentException>(() => new FloraAdamW(Array.Empty<Parameter>()));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FloraAdamW(new[] { new Parameter(torch.ones(3)) }, learningRate: double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FloraAdamW(new[] { new Parameter(torch.ones(3)) }, beta2: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => optimizer.Betas = (0.9, -0.1));
        Assert.Throws<NotSupportedException>(() => optimizer.add_param_group(new ParamGroup()));
    }

    /// <summary>The loss of <paramref name="parameters"/> at <paramref name="step"/>: a quadratic and a cubic term, with gradients.</summary>
    private static Tensor Loss(Parameter[] parameters, int step)
    {
        var target = TestTensors.Randn(new long[] { 4, 3 }, seed: 200 + step);
        return (parameters[0] - target).square().sum() + parameters[1].pow(3).sum();
    }

    private static Parameter[] Start() =>
        new[] { new Parameter(TestTensors.Randn(new long[] { 4, 3 }, seed: 3)), new Parameter(TestTensors.Randn(new long[] { 5 }, seed: 4)) };

    [Fact]
    public void TorchSharps_StepLR_drives_the_learning_rate_through_the_optimizer_interface()
    {
        using var scope = torch.NewDisposeScope();
        var scheduled = Start();
        var byHand = scheduled.Select(p => new Parameter(p.detach().clone())).ToArray();
        using var optimizer = new FloraAdamW(scheduled, learningRate: 0.1, weightDecay: 0.01);
        optim.Optimizer asTorchOptimizer = optimizer;
        var scheduler = optim.lr_scheduler.StepLR(asTorchOptimizer, step_size: 2, gamma: 0.5);
        using var reference = new FloraAdamW(byHand, learningRate: 0.1, weightDecay: 0.01);

        var rates = new List<double>();
        for (int step = 0; step < 7; step++)
        {
            using var stepScope = torch.NewDisposeScope();
            rates.Add(optimizer.LearningRate);
            asTorchOptimizer.zero_grad();
            Tensor loss = asTorchOptimizer.step(() =>
            {
                var l = Loss(scheduled, step);
                l.backward();
                return l;
            });
            Assert.True(loss.requires_grad);
            scheduler.step();

            reference.LearningRate = 0.1 * System.Math.Pow(0.5, step / 2);
            reference.ZeroGrad();
            Loss(byHand, step).backward();
            reference.Step();
        }
        Assert.Equal(new[] { 0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125 }, rates);
        Assert.Equal(0.0125, optimizer.LearningRate, 15);
        Assert.Equal(new[] { optimizer.LearningRate }, scheduler.get_last_lr());
        Assert.Equal(scheduled, asTorchOptimizer.parameters());
        for (int i = 0; i < scheduled.Length; i++)
            TestTensors.AssertBitEqual(byHand[i], scheduled[i], $"parameter {i}: the scheduled rates are the rates of each step");
    }

    [Fact]
    public void Scheduled_updates_match_torch_optim_AdamW_under_the_same_scheduler()
    {
        using var scope = torch.NewDisposeScope();
        var ours = Start();
        var theirs = ours.Select(p => new Parameter(p.detach().clone())).ToArray();
        using var floraAdamW = new FloraAdamW(ours, learningRate: 0.05, weightDecay: 0.02);
        using var torchAdamW = torch.optim.AdamW(theirs, lr: 0.05, weight_decay: 0.02);
        var ourSchedule = optim.lr_scheduler.CosineAnnealingLR(floraAdamW, T_max: 8, eta_min: 1e-3);
        var theirSchedule = optim.lr_scheduler.CosineAnnealingLR(torchAdamW, T_max: 8, eta_min: 1e-3);
        for (int step = 0; step < 8; step++)
        {
            using var stepScope = torch.NewDisposeScope();
            floraAdamW.zero_grad();
            torchAdamW.zero_grad();
            Loss(ours, step).backward();
            Loss(theirs, step).backward();
            floraAdamW.step();
            torchAdamW.step();
            ourSchedule.step();
            theirSchedule.step();
            Assert.Equal(theirSchedule.get_last_lr(), ourSchedule.get_last_lr());
        }
        for (int i = 0; i < ours.Length; i++)
            TestTensors.AssertClose(theirs[i], ours[i], 1e-5, 1e-6, $"parameter {i} after 8 scheduled steps");
    }

    [Fact]
    public void Each_step_is_AdamWs_formula_in_double_precision_at_the_rate_of_that_step()
    {
        using var scope = torch.NewDisposeScope();
        const double beta1 = 0.8, beta2 = 0.95, epsilon = 1e-6, weightDecay = 0.1;
        var parameter = new Parameter(TestTensors.Randn(new long[] { 6 }, seed: 5));
        using var optimizer = new FloraAdamW(new[] { parameter }, learningRate: 0.2, beta1, beta2, epsilon, weightDecay);
        var scheduler = optim.lr_scheduler.MultiplicativeLR(optimizer, _ => 0.7);

        var theta = parameter.detach().to(ScalarType.Float64).clone();
        var m = zeros_like(theta);
        var v = zeros_like(theta);
        for (int t = 1; t <= 6; t++)
        {
            double lr = optimizer.LearningRate;
            var target = TestTensors.Randn(new long[] { 6 }, seed: 300 + t);
            optimizer.zero_grad();
            (parameter - target).pow(4).sum().backward();
            var g = parameter.grad!.detach().to(ScalarType.Float64);
            optimizer.step();
            scheduler.step();

            // torch.optim.AdamW: θ ← θ(1 − lr·λ); m ← β1·m + (1 − β1)·g; v ← β2·v + (1 − β2)·g²;
            // θ ← θ − lr/(1 − β1ᵗ) · m / (√v/√(1 − β2ᵗ) + ε)
            theta = theta * (1 - lr * weightDecay);
            m = m * beta1 + g * (1 - beta1);
            v = v * beta2 + g.square() * (1 - beta2);
            theta = theta - lr / (1 - System.Math.Pow(beta1, t)) * m / (v.sqrt() / System.Math.Sqrt(1 - System.Math.Pow(beta2, t)) + epsilon);
            TestTensors.AssertClose(theta, parameter.detach(), 1e-5, 1e-6, $"step {t}");
        }
        Assert.Equal(0.2 * System.Math.Pow(0.7, 6), optimizer.LearningRate, 12);
    }

    [Fact]
    public void OneCycleLR_cycles_the_betas_and_the_rate()
    {
        using var scope = torch.NewDisposeScope();
        using var optimizer = new FloraAdamW(Start(), learningRate: 0.01);
        var scheduler = optim.lr_scheduler.OneCycleLR(optimizer, max_lr: 0.1, total_steps: 10);
        var rates = new List<double>();
        var betas = new List<double>();
        for (int step = 0; step < 9; step++)
        {
            rates.Add(optimizer.LearningRate);
            betas.Add(optimizer.Beta1);
            optimizer.step();
            scheduler.step();
        }
        Assert.True(rates.Max() > 0.09 && rates[0] < 0.01 && rates[^1] < rates.Max(), string.Join(", ", rates));
        Assert.True(betas.Min() < betas[0], string.Join(", ", betas));
    }

    [Fact]
    public void Gradients_replaced_by_other_code_are_taken_back_and_clipping_scales_them_all_as_clip_grad_norm_does()
    {
        using var scope = torch.NewDisposeScope();
        var ours = Start();
        var theirs = ours.Select(p => new Parameter(p.detach().clone())).ToArray();
        using var floraAdamW = new FloraAdamW(ours, 1e-2, weightDecay: 0.05);
        using var torchAdamW = torch.optim.AdamW(theirs, lr: 1e-2, weight_decay: 0.05);
        for (int step = 0; step < 6; step++)
        {
            using var stepScope = torch.NewDisposeScope();
            if (step % 2 == 0) floraAdamW.ZeroGrad();
            else foreach (var p in ours) p.grad = null; // what a module's or another optimizer's zero_grad does
            torchAdamW.zero_grad();
            Loss(ours, step).backward();
            Loss(theirs, step).backward();
            var ourNorm = floraAdamW.ClipGradientNorm(0.5);
            double theirNorm = torch.nn.utils.clip_grad_norm_(theirs, 0.5);
            Assert.Equal(theirNorm, ourNorm.item<float>(), 4);
            floraAdamW.Step();
            torchAdamW.step();
        }
        for (int i = 0; i < ours.Length; i++)
            TestTensors.AssertClose(theirs[i], ours[i], 1e-5, 1e-6, $"parameter {i} after 6 clipped steps");
    }

    [Fact]
    public void A_newer_optimizer_takes_the_parameters_over_and_the_older_one_refuses_to_step()
    {
        using var scope = torch.NewDisposeScope();
        var parameters = Start();
        using var first = new FloraAdamW(parameters);
        using var second = new FloraAdamW(parameters);
        Loss(parameters, 0).backward();
        second.Step();
        Assert.Contains("Another FloraAdamW", Assert.Throws<InvalidOperationException>(() => first.Step()).Message);
    }
}
