using TorchSharp.Modules;

namespace Flora.Tests.Training;

/// <summary>FloraAdamW makes the same updates as TorchSharp's AdamW (the reference formulation).</summary>
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
    public void Parameters_without_gradients_stay_put_and_bad_settings_are_refused()
    {
        var frozen = new Parameter(torch.ones(3));
        using var optimizer = new FloraAdamW(new[] { frozen }, 0.1, weightDecay: 0.5);
        optimizer.Step();
        Assert.Equal(new[] { 1f, 1f, 1f }, frozen.data<float>().ToArray());
        Assert.Throws<ArgumentException>(() => new FloraAdamW(Array.Empty<Parameter>()));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FloraAdamW(new[] { frozen }, learningRate: double.NaN));
    }
}
