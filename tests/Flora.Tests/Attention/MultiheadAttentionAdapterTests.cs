using System.IO;
using TorchSharp.Modules;
using static Flora.Tests.TestTensors;

namespace Flora.Tests.Attention;

/// <summary>
/// FLoRA, LoRA and BitFit on TorchSharp's MultiheadAttention (in_proj_weight as a whole, out_proj): the wrapper reproduces
/// the base layer exactly while the update is zero, and with an update it equals attention written out in double
/// precision from W0 + ΔW (masks and weights included); gradients, merge, save/load, disable and detach; the refusals.
/// </summary>
public sealed class MultiheadAttentionAdapterTests
{
    private const long Embed = 8;

    public static TheoryData<long, bool, bool, bool> Layouts() => new()
    {
        { 1, false, false, true }, { 2, false, false, false }, { 4, true, false, true }, { 2, false, true, true }, { 2, true, true, false },
    };

    [Theory]
    [MemberData(nameof(Layouts))]
    public void ZeroUpdateReproducesTheBaseLayerWithMasks(long heads, bool biasKv, bool zeroAttention, bool needWeights)
    {
        using var model = Eval(new AttentionNet(Embed, heads, biasKv, zeroAttention));
        using var query = Randn(new[] { 5L, 3, Embed }, 1);
        using var memory = Randn(new[] { 6L, 3, Embed }, 2);
        using var padding = tensor(new[] { false, false, false, false, true, true, false, true, false, false, false, false, false, false, false, false, false, true }).reshape(3, 6);
        using var floatMask = Randn(new[] { 5L, 6 }, 3);
        using var boolMask = Randn(new[] { 5L, 6 }, 4).gt(1.0);
        var cases = new List<(Tensor Q, Tensor K, Tensor V, Tensor? Padding, Tensor? Mask)> { (query, query, query, null, null), (query, memory, memory, padding, null) };
        // libtorch's own layer cannot pad an attn_mask for an appended key (bias_k, add_zero_attn): masks are tested where it can.
        if (!biasKv && !zeroAttention) cases.AddRange(new (Tensor, Tensor, Tensor, Tensor?, Tensor?)[] { (query, memory, memory, padding, floatMask), (query, memory, memory, null, boolMask) });
        var expected = cases.Select(c => model.Attend(c.Q, c.K, c.V, c.Padding, needWeights, c.Mask)).ToList();
        var attachment = FloraInjector.Attach(model, AttentionNet.Config());
        Assert.IsType<FloraMultiheadAttention>(model.named_children().Single(c => c.name == "attn").module);
        for (int i = 0; i < cases.Count; i++)
        {
            var (q, k, v, kpm, mask) = cases[i];
            var (output, weights) = model.Attend(q, k, v, kpm, needWeights, mask);
            AssertClose(expected[i].Output, output, 1e-5, 1e-6, $"output, case {i}");
            if (needWeights) AssertClose(expected[i].Weights, weights, 1e-5, 1e-6, $"weights, case {i}");
            else Assert.Equal(0, weights.numel());
        }
        attachment.Detach();
    }

    [Theory]
    [InlineData(FloraMethod.Flora, false)]
    [InlineData(FloraMethod.Flora, true)]
    [InlineData(FloraMethod.Lora, false)]
    public void UpdateEqualsAttentionWrittenOutFromTheAdaptedWeights(FloraMethod method, bool biasKv)
    {
        using var model = Eval(new AttentionNet(Embed, 2, biasKv, zeroAttention: biasKv));
        var attachment = FloraInjector.Attach(model, AttentionNet.Config(), method);
        Randomise(attachment, 10);
        var wrapper = Wrapper(model);
        using var query = Randn(new[] { 4L, 2, Embed }, 11);
        using var memory = Randn(new[] { 5L, 2, Embed }, 12);
        using var padding = tensor(new[] { false, false, true, false, false, false, false, false, false, true }).reshape(2, 5);
        using var mask = Randn(new[] { 4L, 5 }, 13);
        var (output, weights) = model.Attend(query, memory, memory, padding, true, mask);
        var (inDelta, outDelta) = wrapper.Delta();
        var attention = model.Attention;
        var (refOutput, refWeights) = AttentionReference.Compute(
            attention.get_parameter("in_proj_weight")! + inDelta, attention.get_parameter("in_proj_bias"),
            attention.get_parameter("out_proj.weight")! + outDelta, attention.get_parameter("out_proj.bias"), 2,
            query, memory, memory, padding, mask, attention.get_parameter("bias_k"), attention.get_parameter("bias_v"), zeroAttention: biasKv);
        Assert.True(inDelta.abs().max().item<float>() > 1e-3, "the in projection's update is not zero");
        AssertClose(refOutput, output, 1e-4, 1e-5, "output");
        AssertClose(refWeights, weights, 1e-4, 1e-6, "weights");
        attachment.Detach();
    }

    [Fact]
    public void GradientsEqualThoseOfTheWrittenOutAttention()
    {
        using var model = Eval(new AttentionNet(Embed, 2));
        var attachment = FloraInjector.Attach(model, AttentionNet.Config());
        Randomise(attachment, 20);
        var wrapper = Wrapper(model);
        using var x = Randn(new[] { 3L, 2, Embed }, 21);
        using var direction = Randn(new[] { 3L, 2, Embed }, 22);
        var tensors = attachment.Adapters.SelectMany(a => a.AdapterTensors.Select(t => t.Tensor)).ToArray();

        var (output, _) = model.Attend(x, x, x, null, false, null);
        (output * direction).sum().backward();
        var grads = tensors.Select(t => t.grad!.clone()).ToArray();
        foreach (var t in tensors) t.grad = null;

        var (inDelta, outDelta) = wrapper.Delta();
        var attention = model.Attention;
        var (reference, _) = AttentionReference.Compute(attention.get_parameter("in_proj_weight")! + inDelta, attention.get_parameter("in_proj_bias"),
            attention.get_parameter("out_proj.weight")! + outDelta, attention.get_parameter("out_proj.bias"), 2, x, x, x, null, null);
        (reference * direction.to(ScalarType.Float64)).sum().backward();
        for (int i = 0; i < tensors.Length; i++)
            AssertClose(tensors[i].grad!, grads[i], 1e-4, 1e-5, $"gradient of tensor {i}");
        attachment.Detach();
    }

    [Fact]
    public void MergeUnmergeDisableSaveLoadAndDetach()
    {
        using var model = Eval(new AttentionNet(Embed, 4, biasKv: true));
        using var x = Randn(new[] { 5L, 2, Embed }, 30);
        var namesBefore = model.named_parameters().Select(p => p.name).ToArray();
        using var weightBefore = model.Attention.get_parameter("in_proj_weight")!.detach().clone();
        var baseOutput = model.Attend(x, x, x, null, true, null);
        var attachment = FloraInjector.Attach(model, AttentionNet.Config());
        Randomise(attachment, 31);
        var adapted = model.Attend(x, x, x, null, true, null);

        using (attachment.Disable())
            AssertClose(baseOutput.Output, model.Attend(x, x, x, null, true, null).Output, 1e-5, 1e-6, "disabled output");

        string path = Path.Combine(Path.GetTempPath(), $"mha-{Guid.NewGuid():N}.flora.safetensors");
        try
        {
            attachment.Save(path);
            Assert.Contains(attachment.Adapters, a => a.Name == "attn.in_proj");
            Assert.Contains(attachment.Adapters, a => a.Name == "attn.out_proj");
            attachment.Detach();
            AssertBitEqual(baseOutput.Output, model.Attend(x, x, x, null, true, null).Output, "output after detach");
            Assert.Equal(namesBefore, model.named_parameters().Select(p => p.name).ToArray());
            Assert.IsType<MultiheadAttention>(model.named_children().Single(c => c.name == "attn").module);

            var reloaded = FloraInjector.AttachFromFile(model, path);
            AssertBitEqual(adapted.Output, model.Attend(x, x, x, null, true, null).Output, "output after AttachFromFile");
            reloaded.Merge();
            AssertClose(adapted.Output, model.Attend(x, x, x, null, true, null).Output, 1e-5, 1e-6, "merged output");
            Assert.Throws<InvalidOperationException>(() => reloaded.Merge());
            reloaded.Unmerge();
            AssertClose(weightBefore, model.Attention.get_parameter("in_proj_weight")!, 1e-6, 1e-6, "unmerged in_proj_weight");
            reloaded.Detach();
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void TrainableCountsAreThoseOfBothProjections()
    {
        using var flora = new AttentionNet(Embed, 2);
        var attached = FloraInjector.Attach(flora, AttentionNet.Config(new FloraModelOptions { Rank = 3 }));
        // FLoRA on [3E, E] and [E, E] at rank 3: r² + 3E·r + E·r, then r² + 2·E·r.
        Assert.Equal(9 + 24 * 3 + 8 * 3 + 9 + 2 * 8 * 3, attached.TrainableParameters);
        attached.Detach();

        using var bitFit = new AttentionNet(Embed, 2);
        var biases = FloraInjector.Attach(bitFit, AttentionNet.Config(), FloraMethod.BitFit);
        Assert.Equal(3 * Embed + Embed, biases.TrainableParameters);
        using var x = Randn(new[] { 3L, 2, Embed }, 40);
        bitFit.call(x).sum().backward();
        Assert.All(biases.Parameters(), p => Assert.True(p.grad is not null && p.grad.abs().sum().item<float>() > 0, "a bias got no gradient"));
        biases.Detach();
    }

    [Theory]
    [InlineData(FloraMethod.Dora)]
    [InlineData(FloraMethod.AdaLora)]
    [InlineData(FloraMethod.Houlsby)]
    [InlineData(FloraMethod.Pfeiffer)]
    public void OtherMethodsAreRefusedNamingTheLayer(FloraMethod method)
    {
        using var model = new AttentionNet(Embed, 2);
        var error = Assert.Throws<ArgumentException>(() => FloraInjector.Attach(model, AttentionNet.Config(), method));
        Assert.Matches("'attn\\.(in|out)_proj' is a projection of a MultiheadAttention", error.Message);
        Assert.IsType<MultiheadAttention>(model.named_children().Single(c => c.name == "attn").module);
    }

    [Fact]
    public void AttachingAgainIsRefusedNamingTheLayer()
    {
        using var model = new AttentionNet(Embed, 2);
        var attachment = FloraInjector.Attach(model, AttentionNet.Config());
        var error = Assert.Throws<InvalidOperationException>(() => FloraInjector.Attach(model, AttentionNet.Config()));
        Assert.Contains("'attn' already has an adapter attached", error.Message);
        attachment.Detach();
    }

    [Fact]
    public void AttentionDropoutAndSeparateKeyValueDimensionsAreRefused()
    {
        using var dropout = new AttentionNet(Embed, 2, dropout: 0.1);
        Assert.Contains("attention dropout", Assert.Throws<ArgumentException>(() => FloraInjector.Attach(dropout, AttentionNet.Config())).Message);
        using var kdim = new AttentionNet(Embed, 2, kdim: 4);
        Assert.Contains("kdim or vdim", Assert.Throws<ArgumentException>(() => FloraInjector.Attach(kdim, AttentionNet.Config())).Message);
    }

    private static AttentionNet Eval(AttentionNet model)
    {
        model.eval();
        return model;
    }

    private static FloraMultiheadAttention Wrapper(AttentionNet model) =>
        (FloraMultiheadAttention)model.named_children().Single(c => c.name == "attn").module;

    /// <summary>Gives every adapter tensor random values (FLoRA's core and LoRA's B start at zero).</summary>
    private static void Randomise(FloraAttachment attachment, long seed)
    {
        using var _ = no_grad();
        foreach (var (tensor, i) in attachment.Adapters.SelectMany(a => a.AdapterTensors).Select((t, i) => (t.Tensor, i)))
        {
            using var values = Randn(tensor.shape, seed + i, tensor.dtype) * 0.3;
            tensor.copy_(values);
        }
    }
}
