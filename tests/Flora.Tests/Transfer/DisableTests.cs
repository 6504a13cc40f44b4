using Flora.Tests.Injection;

namespace Flora.Tests.Transfer;

/// <summary>Disable(): for the scope's while the model computes as the base model, whatever is attached.</summary>
public class DisableTests
{
    private static Tensor Input(long seed = 5) => TestTensors.Randn(new long[] { 4, 3, 8, 8 }, seed);

    /// <summary>An attachment whose adapters, head and BatchNorms all differ from the base.</summary>
    private static (HeadNet Model, FloraAttachment Attachment, Tensor BaseOutput) Trained(FloraMethod method, long seed)
    {
        var model = new HeadNet(seed);
        model.eval();
        using var x = Input();
        var baseOutput = model.forward(x);
        var attachment = FloraInjector.Attach(model, HeadNet.Config(norms: true), method);
        using (torch.no_grad())
        {
            foreach (var (i, parameter) in attachment.Parameters().Select((p, i) => (i, p)))
            {
                using var noise = TestTensors.Randn(parameter.shape, seed * 100 + i) * 0.1;
                parameter.add_(noise);
            }
            model.Bn1.running_mean!.add_(0.5);
        }
        return (model, attachment, baseOutput);
    }

    [Theory]
    [InlineData(FloraMethod.Flora)]
    [InlineData(FloraMethod.Lora)]
    [InlineData(FloraMethod.Dora)]
    [InlineData(FloraMethod.BitFit)]
    [InlineData(FloraMethod.AdaLora)]
    public void Inside_Disable_the_output_is_the_base_models_and_after_it_the_adapted_one(FloraMethod method)
    {
        var (model, attachment, baseOutput) = Trained(method, seed: 3);
        using var x = Input();
        using var adapted = model.forward(x);
        Assert.False(adapted.allclose(baseOutput, 1e-3, 1e-3), "the attachment changes the output");
        using (attachment.Disable())
        {
            Assert.True(attachment.IsDisabled);
            using var disabled = model.forward(x);
            TestTensors.AssertBitEqual(baseOutput, disabled, $"{method} disabled");
            using (attachment.Disable())
            {
                using var nested = model.forward(x);
                TestTensors.AssertBitEqual(baseOutput, nested, "nested scope");
            }
            using var stillDisabled = model.forward(x);
            TestTensors.AssertBitEqual(baseOutput, stillDisabled, "after the nested scope");
        }
        Assert.False(attachment.IsDisabled);
        using var again = model.forward(x);
        TestTensors.AssertBitEqual(adapted, again, $"{method} enabled again");
        attachment.Detach();
        model.Dispose();
        baseOutput.Dispose();
    }

    [Fact]
    public void Disabling_a_merged_attachment_unmerges_it_for_the_while()
    {
        var (model, attachment, baseOutput) = Trained(FloraMethod.Flora, seed: 4);
        using var x = Input();
        attachment.Merge();
        using var merged = model.forward(x);
        using (attachment.Disable())
        {
            Assert.False(attachment.IsMerged);
            using var disabled = model.forward(x);
            TestTensors.AssertClose(baseOutput, disabled, 1e-5, 1e-5, "disabled after merge");
        }
        Assert.True(attachment.IsMerged);
        using var mergedAgain = model.forward(x);
        TestTensors.AssertClose(merged, mergedAgain, 1e-5, 1e-5, "merged again");
        model.Dispose();
        baseOutput.Dispose();
    }

    [Fact]
    public void Hook_bound_fused_adapters_are_bypassed_too()
    {
        using var model = new TinyNet();
        model.eval();
        using var x = TestTensors.Randn(new long[] { 2, 3, 12, 12 }, 9);
        using var baseOutput = model.forward(x);
        var attachment = FloraInjector.Attach(model, TinyNet.Config(new FloraModelOptions { Rank = 4, R3 = 2, ForwardPath = FloraForwardPath.Fused }));
        foreach (FloraLayer adapter in attachment.Adapters) TestTensors.RandomiseCore(adapter, 11);
        using (attachment.Disable())
        {
            using var disabled = model.forward(x);
            TestTensors.AssertBitEqual(baseOutput, disabled, "fused, disabled");
        }
        attachment.Detach();
    }

    [Fact]
    public void Save_load_merge_and_detach_wait_for_the_scope_to_end()
    {
        var (model, attachment, baseOutput) = Trained(FloraMethod.Lora, seed: 5);
        var scope = attachment.Disable();
        string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"flora-disabled-{Guid.NewGuid():N}.safetensors");
        Assert.Contains("Disable()", Assert.Throws<InvalidOperationException>(() => attachment.Save(path)).Message);
        Assert.Contains("Disable()", Assert.Throws<InvalidOperationException>(() => attachment.Merge()).Message);
        Assert.Contains("Disable()", Assert.Throws<InvalidOperationException>(() => attachment.Detach()).Message);
        scope.Dispose();
        scope.Dispose(); // a second dispose ends nothing more
        Assert.False(attachment.IsDisabled);
        attachment.Detach();
        model.Dispose();
        baseOutput.Dispose();
    }
}
