using Flora.Tests.Transfer;
using static Flora.Tests.Injection.TwoAdapterModel;

namespace Flora.Tests.Injection;

/// <summary>
/// Weighted combinations of named adapters (PEFT's add_weighted_adapter): each combined update checked against ΔW
/// computed directly from the sources' tensors in double precision (LoRA: s·B·A; FLoRA: s·G ×₁ U₁ ×₂ U₂ … by einsum).
/// </summary>
public class WeightedAdapterTests
{
    private static readonly FloraModelOptions Rank2 = new() { Rank = 4, R3 = 2, LoraRank = 2, LoraAlpha = 3 };
    private static readonly FloraModelOptions Rank3 = new() { Rank = 4, R3 = 2, LoraRank = 3, LoraAlpha = 6 };

    /// <summary>LoRA's ΔW = s·(B @ A) in the weight's shape, in double precision.</summary>
    private static Tensor LoraDelta(LoraLayer lora)
    {
        using var a = lora.LoraA.detach().to(ScalarType.Float64).reshape(lora.Config.Rank, -1);
        using var b = lora.LoraB.detach().to(ScalarType.Float64).reshape(-1, lora.Config.Rank);
        using var product = b.matmul(a);
        return (product * lora.Config.Scale).reshape(lora.BaseLayer.get_parameter("weight")!.shape);
    }

    /// <summary>FLoRA's ΔW = s·G ×₁ U₁ … ×₄ U₄ of a Conv2d, by einsum, in double precision.</summary>
    private static Tensor FloraDelta(FloraLayer flora)
    {
        var f = flora.Factors.Select(u => u.detach().to(ScalarType.Float64)).ToArray();
        using var core = flora.Core.detach().to(ScalarType.Float64);
        using var delta = torch.einsum("abcd,ia,jb,kc,ld->ijkl", core, f[0], f[1], f[2], f[3]);
        foreach (var u in f) u.Dispose();
        return delta * flora.Config.Scale;
    }

    /// <summary>TinyNet with LoRA "default" (rank 2) and LoRA "b" (rank 3), both random.</summary>
    private static (TinyNet Model, FloraAttachment Attachment) TwoLoras() => Create(null, (FloraMethod.Lora, Rank2), ("b", FloraMethod.Lora, Rank3));

    private static IFloraAdapter[] LayersOf(FloraAttachment attachment, string name)
    {
        var active = attachment.ActiveAdapters.ToArray();
        attachment.SetAdapter(name);
        var layers = attachment.Adapters.ToArray();
        attachment.SetAdapters(active);
        return layers;
    }

    [Fact]
    public void Cat_of_LoRA_adapters_is_the_exact_weighted_sum_of_their_updates()
    {
        var (model, attachment) = TwoLoras();
        using var _ = model;
        double error = attachment.AddWeightedAdapter(new[] { "default", "b" }, new[] { 0.7, -0.4 }, "mix", FloraCombination.Cat);
        Assert.True(error < 1e-6, $"reported error {error:G3}");
        Assert.Equal(new[] { "default" }, attachment.ActiveAdapters);
        var a = LayersOf(attachment, "default").Cast<LoraLayer>().ToArray();
        var b = LayersOf(attachment, "b").Cast<LoraLayer>().ToArray();
        var mix = LayersOf(attachment, "mix").Cast<LoraLayer>().ToArray();
        Assert.All(mix.SelectMany(m => m.AdapterTensors), t => Assert.False(t.Tensor.requires_grad));
        for (int i = 0; i < mix.Length; i++)
        {
            Assert.Equal(5, mix[i].Config.Rank);
            using var da = LoraDelta(a[i]);
            using var db = LoraDelta(b[i]);
            using var expected = da * 0.7 - db * 0.4;
            using var actual = LoraDelta(mix[i]);
            TestTensors.AssertClose(expected, actual, 1e-5, 1e-7, mix[i].Name);
        }
    }

    [Fact]
    public void Linear_of_LoRA_adapters_follows_PEFTs_formula_and_reports_its_cross_terms()
    {
        var model = new TinyNet();
        using var _ = model;
        var attachment = FloraInjector.Attach(model, TinyNet.Config(Rank2), FloraMethod.Lora);
        Randomise(attachment, 30);
        attachment.AddAdapter("b", FloraMethod.Lora, Rank2 with { LoraAlpha = 5 });
        attachment.SetAdapter("b");
        Randomise(attachment, 40);
        double[] w = { 0.5, -1.5 };
        double reported = attachment.AddWeightedAdapter(new[] { "default", "b" }, w, "mix", FloraCombination.Linear);
        var sources = new[] { LayersOf(attachment, "default"), LayersOf(attachment, "b") };
        var mix = LayersOf(attachment, "mix").Cast<LoraLayer>().ToArray();
        double worst = 0;
        for (int i = 0; i < mix.Length; i++)
        {
            // PEFT: A = Σ sign(w s)·√|w s|·A_k, B = Σ √|w s|·B_k, scale 1.
            var layers = sources.Select(s => (LoraLayer)s[i]).ToArray();
            long[] shape = layers[0].BaseLayer.get_parameter("weight")!.shape;
            Tensor sumA = torch.zeros(1, dtype: ScalarType.Float64), sumB = torch.zeros(1, dtype: ScalarType.Float64);
            for (int k = 0; k < 2; k++)
            {
                double scaled = w[k] * layers[k].Config.Scale;
                sumA = sumA + layers[k].LoraA.detach().to(ScalarType.Float64).reshape(2, -1) * (System.Math.Sign(scaled) * System.Math.Sqrt(System.Math.Abs(scaled)));
                sumB = sumB + layers[k].LoraB.detach().to(ScalarType.Float64).reshape(-1, 2) * System.Math.Sqrt(System.Math.Abs(scaled));
            }
            using var formula = sumB.matmul(sumA).reshape(shape);
            using var actual = LoraDelta(mix[i]);
            TestTensors.AssertClose(formula, actual, 1e-5, 1e-7, mix[i].Name);
            using var exact = LoraDelta(layers[0]) * w[0] + LoraDelta(layers[1]) * w[1];
            worst = System.Math.Max(worst, (actual - exact).norm().item<double>() / exact.norm().item<double>());
        }
        Assert.True(worst > 1e-3, "PEFT's linear rule has cross terms");
        Assert.Equal(worst, reported, 6);
    }

    [Fact]
    public void Svd_projects_LoRA_and_FLoRA_updates_onto_a_LoRA_of_the_given_rank_with_the_Eckart_Young_error()
    {
        using var model = new HeadNet(seed: 9);
        model.eval();
        var attachment = FloraInjector.Attach(model, HeadNet.Config(defaults: new FloraModelOptions { Rank = 2, R3 = 1 }) with { ModulesToSave = Array.Empty<string>() });
        Randomise(attachment, 50);
        attachment.AddAdapter("lora", FloraMethod.Lora, Rank3);
        attachment.SetAdapter("lora");
        Randomise(attachment, 60);
        double[] w = { 1.0, 0.5 };
        double reported = attachment.AddWeightedAdapter(new[] { "default", "lora" }, w, "svd", FloraCombination.Svd, rank: 2);
        var flora = LayersOf(attachment, "default").Cast<FloraLayer>().ToArray();
        var lora = LayersOf(attachment, "lora").Cast<LoraLayer>().ToArray();
        var svd = LayersOf(attachment, "svd").Cast<LoraLayer>().ToArray();
        double worst = 0;
        for (int i = 0; i < svd.Length; i++)
        {
            Assert.Equal(2, svd[i].Config.Rank);
            using var sum = FloraDelta(flora[i]) * w[0] + LoraDelta(lora[i]) * w[1];
            using var matrix = sum.reshape(sum.shape[0], -1);
            using var sigma = torch.linalg.svdvals(matrix);
            double tail = sigma.narrow(0, 2, sigma.shape[0] - 2).square().sum().sqrt().item<double>();
            double bestError = tail / sigma.square().sum().sqrt().item<double>();
            using var actual = LoraDelta(svd[i]);
            double error = (actual - sum).norm().item<double>() / sum.norm().item<double>();
            Assert.Equal(bestError, error, 5); // the truncated SVD is the best rank-2 approximation
            worst = System.Math.Max(worst, error);
        }
        Assert.True(worst > 1e-3, "rank 2 loses part of a rank-5 sum");
        Assert.Equal(worst, reported, 6);
        Assert.True(attachment.AddWeightedAdapter(new[] { "default", "lora" }, w, "full", FloraCombination.Svd, rank: 8) < 1e-6, "a rank as large as the update is exact");
    }

    [Fact]
    public void Cat_of_FLoRA_adapters_is_an_exact_FLoRA_with_a_block_diagonal_core()
    {
        using var model = new HeadNet(seed: 11);
        model.eval();
        var attachment = FloraInjector.Attach(model, HeadNet.Config(defaults: new FloraModelOptions { Rank = 2, R3 = 1 }));
        Randomise(attachment, 70);
        attachment.AddAdapter("b", FloraMethod.Flora, new FloraModelOptions { Rank = 1, R3 = 1, Scale = 0.7 });
        attachment.SetAdapter("b");
        Randomise(attachment, 80);
        double error = attachment.AddWeightedAdapter(new[] { "default", "b" }, new[] { 0.25, 2.0 }, "mix", FloraCombination.Cat);
        Assert.True(error < 1e-6, $"reported error {error:G3}");
        var a = LayersOf(attachment, "default").Cast<FloraLayer>().ToArray();
        var b = LayersOf(attachment, "b").Cast<FloraLayer>().ToArray();
        var mix = LayersOf(attachment, "mix").Cast<FloraLayer>().ToArray();
        for (int i = 0; i < mix.Length; i++)
        {
            Assert.Equal(a[i].Config.Ranks.Zip(b[i].Config.Ranks, (x, y) => x + y), mix[i].Config.Ranks);
            using var expected = FloraDelta(a[i]) * 0.25 + FloraDelta(b[i]) * 2.0;
            using var actual = FloraDelta(mix[i]);
            TestTensors.AssertClose(expected, actual, 1e-5, 1e-7, mix[i].Name);
        }
    }

    [Fact]
    public void Combinations_that_cannot_be_made_are_refused_before_anything_changes()
    {
        var (model, attachment) = TwoLoras();
        using var _ = model;
        Assert.Throws<KeyNotFoundException>(() => attachment.AddWeightedAdapter(new[] { "default", "nope" }, new[] { 1.0, 1.0 }, "mix"));
        Assert.Contains("one weight per adapter", Assert.Throws<ArgumentException>(() => attachment.AddWeightedAdapter(new[] { "default", "b" }, new[] { 1.0 }, "mix")).Message);
        Assert.Contains("one rank", Assert.Throws<ArgumentException>(() => attachment.AddWeightedAdapter(new[] { "default", "b" }, new[] { 1.0, 1.0 }, "mix", FloraCombination.Linear)).Message);
        Assert.Contains("already attached", Assert.Throws<ArgumentException>(() => attachment.AddWeightedAdapter(new[] { "default", "b" }, new[] { 1.0, 1.0 }, "b")).Message);
        attachment.AddAdapter("dora", FloraMethod.Dora, Rank2);
        Assert.Contains("'dora' is Dora", Assert.Throws<ArgumentException>(() => attachment.AddWeightedAdapter(new[] { "default", "dora" }, new[] { 1.0, 1.0 }, "mix")).Message);
        attachment.AddAdapter("flora", FloraMethod.Flora, new FloraModelOptions { Rank = 4, R3 = 2 });
        Assert.Contains("Svd only", Assert.Throws<ArgumentException>(() => attachment.AddWeightedAdapter(new[] { "flora", "default" }, new[] { 1.0, 1.0 }, "mix", FloraCombination.Cat)).Message);
        // conv1 has 3 input channels: two FLoRA adapters' input ranks (3 each) cannot sit side by side.
        attachment.AddAdapter("flora2", FloraMethod.Flora, new FloraModelOptions { Rank = 4, R3 = 2 });
        var tooLarge = Assert.Throws<ArgumentException>(() => attachment.AddWeightedAdapter(new[] { "flora", "flora2" }, new[] { 1.0, 1.0 }, "mix", FloraCombination.Cat));
        Assert.Contains("does not fit", tooLarge.Message);
        Assert.Contains("'conv1'", tooLarge.Message);
        Assert.Contains("FloraCombination.Svd", tooLarge.Message);
        Assert.Equal(new[] { "default", "b", "dora", "flora", "flora2" }, attachment.AdapterNames);
    }
}
