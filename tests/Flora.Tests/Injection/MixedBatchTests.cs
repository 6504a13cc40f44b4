using Flora.Tests.Transfer;
using static Flora.Tests.Injection.TwoAdapterModel;

namespace Flora.Tests.Injection;

/// <summary>Mixed-batch inference (PEFT's adapter_names): each row with its own adapter in one forward, equal to running the row alone with that adapter.</summary>
public class MixedBatchTests
{
    /// <summary>Row <paramref name="row"/> of <paramref name="x"/> alone, with <paramref name="adapter"/> active (the base model for "__base__").</summary>
    private static Tensor RowAlone(TinyNet model, FloraAttachment attachment, Tensor x, int row, string adapter)
    {
        using var input = x.narrow(0, row, 1);
        if (adapter != "__base__")
        {
            attachment.SetAdapter(adapter);
            return Output(model, input);
        }
        using (attachment.Disable()) return Output(model, input);
    }

    [Fact]
    public void Each_row_computes_as_it_would_alone_with_its_adapter_in_one_forward()
    {
        var (model, attachment) = Create();
        using var _ = model;
        using var x = TestTensors.Randn(new long[] { 5, 3, 12, 12 }, 31);
        using var before = Output(model, x);
        string[] names = { "lora", "__base__", "default", "lora", "__base__" };
        Tensor mixed;
        using (attachment.MixedBatch(names))
        {
            Assert.Throws<InvalidOperationException>(() => attachment.SetAdapter("lora"));
            mixed = Output(model, x);
        }
        using (mixed)
        {
            for (int row = 0; row < names.Length; row++)
            {
                using var alone = RowAlone(model, attachment, x, row, names[row]);
                using var fromMixed = mixed.narrow(0, row, 1);
                TestTensors.AssertClose(alone, fromMixed, 1e-5, 1e-6, $"row {row} ({names[row]})");
            }
        }
        attachment.SetAdapter("default");
        using var after = Output(model, x);
        TestTensors.AssertBitEqual(before, after, "the active adapter after the scope");
    }

    [Fact]
    public void What_a_mixed_batch_cannot_do_is_refused_clearly()
    {
        var (model, attachment) = Create();
        using var _ = model;
        Assert.Throws<KeyNotFoundException>(() => attachment.MixedBatch(new[] { "default", "nope" }));
        attachment.AddAdapter("houlsby", FloraMethod.Houlsby, new FloraModelOptions { AdapterSize = 2 });
        Assert.Contains("Houlsby", Assert.Throws<NotSupportedException>(() => attachment.MixedBatch(new[] { "houlsby" })).Message);
        model.train();
        Assert.Contains("eval", Assert.Throws<InvalidOperationException>(() => attachment.MixedBatch(new[] { "default" })).Message);
        model.eval();
        attachment.Merge();
        Assert.Contains("Unmerge()", Assert.Throws<InvalidOperationException>(() => attachment.MixedBatch(new[] { "default" })).Message);
        attachment.Unmerge();

        using var x = TestTensors.Randn(new long[] { 3, 3, 12, 12 }, 32);
        using (attachment.MixedBatch(new[] { "default", "lora" }))
        {
            Assert.Contains("one adapter name per row", Assert.Throws<ArgumentException>(() => Output(model, x)).Message);
            model.train();
            Assert.Contains("eval", Assert.Throws<InvalidOperationException>(() => Output(model, x.narrow(0, 0, 2))).Message);
            model.eval();
            Assert.Throws<InvalidOperationException>(() => attachment.MixedBatch(new[] { "default" }));
            Assert.Throws<InvalidOperationException>(() => attachment.Disable());
        }

        using var withHead = new HeadNet(seed: 4);
        withHead.eval();
        var saving = FloraInjector.Attach(withHead, HeadNet.Config());
        Assert.Contains("modules to save", Assert.Throws<InvalidOperationException>(() => saving.MixedBatch(new[] { "default" })).Message);
    }
}
