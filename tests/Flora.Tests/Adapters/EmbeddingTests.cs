using System.IO;
using TorchSharp.Modules;

namespace Flora.Tests.Adapters;

/// <summary>
/// Embedding targets under every method, against independent formulations: ΔW built in float64 by explicit sums from the
/// adapter's tensors and the output as an explicit row gather of <c>W0 + ΔW</c> in double precision.
/// </summary>
public class EmbeddingTests
{
    private const long Num = 12, Dim = 6;

    /// <summary>An Embedding (with <paramref name="paddingIdx"/> and <paramref name="maxNorm"/>) and a head, base weights from private generators.</summary>
    private static Sequential Model(long? paddingIdx = null, double? maxNorm = null, ScalarType dtype = ScalarType.Float32)
    {
        var model = nn.Sequential(("emb", nn.Embedding(Num, Dim, padding_idx: paddingIdx, max_norm: maxNorm)), ("head", nn.Linear(Dim, 3)));
        using (no_grad())
        {
            var emb = (Embedding)model.named_children().First(c => c.name == "emb").module;
            using var w = TestTensors.Randn(new[] { Num, Dim }, seed: 501);
            emb.weight!.copy_(w);
            var head = (Linear)model.named_children().First(c => c.name == "head").module;
            using var hw = TestTensors.Randn(new long[] { 3, Dim }, seed: 502);
            head.weight!.copy_(hw);
            head.bias!.zero_();
        }
        model.to(dtype);
        return model;
    }

    /// <summary>The model's base Embedding, also once an adapter wraps it.</summary>
    private static Embedding Emb(Sequential model) => model.named_children().First(c => c.name == "emb").module switch
    {
        Embedding embedding => embedding,
        AdapterLayer adapter => (Embedding)adapter.BaseLayer,
        var other => throw new InvalidOperationException(other.GetType().Name),
    };

    private static FloraConfig Config(int rank = 3, int? inRank = null) => new()
    {
        TargetModules = new[] { "emb" },
        Defaults = new FloraModelOptions { Rank = rank, Scale = 0.7 },
        Overrides = inRank is null ? Array.Empty<(string, FloraTargetOptions)>() : new[] { ("emb", new FloraTargetOptions { InRank = inRank }) },
    };

    private static Tensor Ids2d => tensor(new long[] { 3, 0, 11, 3, 7, 0, 1, 5 }).reshape(2, 4);
    private static Tensor Ids1d => tensor(new long[] { 4, 0, 9, 4, 2 });

    /// <summary>s·ΔW[n, d] = s·Σ_a Σ_b U0[n, a]·G[a, b]·U1[d, b], in float64 by explicit loops.</summary>
    private static double[,] FloraDelta(FloraLayer adapter)
    {
        double[,] u0 = ToArray(adapter.Factor(0)), g = ToArray(adapter.Core), u1 = ToArray(adapter.Factor(1));
        double s = adapter.Config.Scale;
        var delta = new double[u0.GetLength(0), u1.GetLength(0)];
        for (int n = 0; n < delta.GetLength(0); n++)
            for (int d = 0; d < delta.GetLength(1); d++)
            {
                double sum = 0;
                for (int a = 0; a < g.GetLength(0); a++)
                    for (int b = 0; b < g.GetLength(1); b++)
                        sum += u0[n, a] * g[a, b] * u1[d, b];
                delta[n, d] = s * sum;
            }
        return delta;
    }

    /// <summary>s·ΔW[n, d] = s·Σ_p A[p, n]·B[d, p] (PEFT's transpose(B·A)·s), in float64 by explicit loops.</summary>
    private static double[,] LoraDelta(LoraLayer adapter)
    {
        double[,] a = ToArray(adapter.LoraA), b = ToArray(adapter.LoraB);
        var delta = new double[a.GetLength(1), b.GetLength(0)];
        for (int n = 0; n < delta.GetLength(0); n++)
            for (int d = 0; d < delta.GetLength(1); d++)
            {
                double sum = 0;
                for (int p = 0; p < a.GetLength(0); p++) sum += a[p, n] * b[d, p];
                delta[n, d] = adapter.Config.Scale * sum;
            }
        return delta;
    }

    private static double[,] ToArray(Tensor t)
    {
        using var d = t.detach().to(ScalarType.Float64).cpu().contiguous();
        var flat = d.data<double>().ToArray();
        var result = new double[t.shape[0], t.shape[1]];
        for (int i = 0; i < flat.Length; i++) result[i / t.shape[1], i % t.shape[1]] = flat[i];
        return result;
    }

    /// <summary>The rows <c>weight[id] + delta[id]</c> gathered one by one in double precision: <c>[…ids, dim]</c>.</summary>
    private static Tensor GatherExpected(Tensor ids, Tensor weight, double[,] delta)
    {
        double[,] w = ToArray(weight);
        long[] flatIds = ids.flatten().data<long>().ToArray();
        var values = new double[flatIds.Length * Dim];
        for (int i = 0; i < flatIds.Length; i++)
            for (int d = 0; d < Dim; d++)
                values[i * Dim + d] = w[flatIds[i], d] + delta[flatIds[i], d];
        return tensor(values).reshape(ids.shape.Append(Dim).ToArray());
    }

    private static void Randomise(FloraLayer adapter, long seed) => TestTensors.RandomiseCore(adapter, seed);

    private static void Randomise(LoraLayer adapter, long seed)
    {
        using var noGrad = no_grad();
        using var a = TestTensors.Randn(adapter.LoraA.shape, seed);
        adapter.LoraA.copy_(a);
        using var b = TestTensors.Randn(adapter.LoraB.shape, seed + 1);
        adapter.LoraB.copy_(b);
    }

    [Theory]
    [InlineData(FloraForwardPath.Factorised, false)]
    [InlineData(FloraForwardPath.Materialised, false)]
    [InlineData(FloraForwardPath.Fused, false)]
    [InlineData(FloraForwardPath.Factorised, true)]
    [InlineData(FloraForwardPath.Materialised, true)]
    [InlineData(FloraForwardPath.Fused, true)]
    public void Flora_output_is_the_gather_of_W0_plus_the_update_on_every_path(FloraForwardPath path, bool padding)
    {
        using var scope = NewDisposeScope();
        var model = Model(padding ? 0 : null);
        var attachment = FloraInjector.Attach(model, Config(rank: 3, inRank: 2));
        var adapter = attachment.GetFlora<FloraEmbedding>("emb");
        Assert.Equal(new long[] { Num, 3 }, adapter.Factor(0).shape);
        Assert.Equal(new long[] { 3, 2 }, adapter.Core.shape);
        Assert.Equal(new long[] { Dim, 2 }, adapter.Factor(1).shape);
        Assert.Equal(Num * 3 + 3 * 2 + Dim * 2, attachment.TrainableParameters);
        Randomise(adapter, seed: 7);
        adapter.ForwardPath = path;
        double[,] delta = FloraDelta(adapter);
        foreach (var ids in new[] { Ids1d, Ids2d })
        {
            var output = adapter.forward(ids);
            Assert.Equal(path, adapter.LastPath);
            TestTensors.AssertClose(GatherExpected(ids, Emb(model).weight!, delta), output, 1e-5, 1e-6, $"{path} [{string.Join(",", ids.shape)}]");
        }
        TestTensors.AssertClose(tensor(ToFlat(delta)).reshape(Num, Dim), adapter.Delta(), 1e-5, 1e-6, "Delta()");
    }

    private static double[] ToFlat(double[,] a) => a.Cast<double>().ToArray();

    [Fact]
    public void Flora_defaults_to_the_factorised_gather()
    {
        using var scope = NewDisposeScope();
        var attachment = FloraInjector.Attach(Model(), Config());
        var adapter = attachment.GetFlora<FloraEmbedding>("emb");
        adapter.forward(Ids2d);
        Assert.Equal(FloraForwardPath.Factorised, adapter.LastPath);
    }

    [Theory]
    [InlineData(FloraForwardPath.Factorised)]
    [InlineData(FloraForwardPath.Materialised)]
    [InlineData(FloraForwardPath.Fused)]
    public void Flora_gradients_equal_the_float64_formulation(FloraForwardPath path)
    {
        using var scope = NewDisposeScope();
        var model = Model(paddingIdx: 0);
        var attachment = FloraInjector.Attach(model, Config(rank: 3, inRank: 2));
        var adapter = attachment.GetFlora<FloraEmbedding>("emb");
        Randomise(adapter, seed: 8);
        adapter.ForwardPath = path;
        using var weights = TestTensors.Randn(new long[] { 2, 4, Dim }, seed: 9);
        adapter.forward(Ids2d).mul(weights).sum().backward();

        var u0 = adapter.Factor(0).detach().to(ScalarType.Float64).requires_grad_();
        var g = adapter.Core.detach().to(ScalarType.Float64).requires_grad_();
        var u1 = adapter.Factor(1).detach().to(ScalarType.Float64).requires_grad_();
        var w0 = Emb(model).weight!.detach().to(ScalarType.Float64);
        var full = w0 + u0.matmul(g).matmul(u1.t()) * adapter.Config.Scale;
        var rows = full.index_select(0, Ids2d.flatten()).reshape(2, 4, Dim);
        // No padding mask in the reference: the adapter's rows at the padding id (0, in the ids) get their gradient too (README, Embedding).
        rows.mul(weights.to(ScalarType.Float64)).sum().backward();
        TestTensors.AssertClose(u0.grad!, adapter.Factor(0).grad!, 1e-5, 1e-6, "U0 gradient");
        TestTensors.AssertClose(g.grad!, adapter.Core.grad!, 1e-5, 1e-6, "G gradient");
        TestTensors.AssertClose(u1.grad!, adapter.Factor(1).grad!, 1e-5, 1e-6, "U1 gradient");
        Assert.Null(Emb(model).weight!.grad);
    }

    [Fact]
    public void A_bfloat16_base_gets_float32_adapters_and_the_sum_rounded_once()
    {
        using var scope = NewDisposeScope();
        var model = Model(dtype: ScalarType.BFloat16);
        var attachment = FloraInjector.Attach(model, Config());
        var adapter = attachment.GetFlora<FloraEmbedding>("emb");
        Assert.Equal(ScalarType.Float32, adapter.Core.dtype);
        Randomise(adapter, seed: 10);
        double[,] delta = FloraDelta(adapter);
        foreach (var path in new[] { FloraForwardPath.Factorised, FloraForwardPath.Materialised, FloraForwardPath.Fused })
        {
            adapter.ForwardPath = path;
            var output = adapter.forward(Ids2d);
            Assert.Equal(ScalarType.BFloat16, output.dtype);
            TestTensors.AssertClose(GatherExpected(Ids2d, Emb(model).weight!, delta), output, 1e-2, 1e-2, $"bf16 {path}");
        }
    }

    [Fact]
    public void With_max_norm_the_base_renormalises_its_own_rows_and_the_update_is_added_unrenormalised()
    {
        using var scope = NewDisposeScope();
        var model = Model(maxNorm: 1.0);
        var twin = Model(maxNorm: 1.0);
        var attachment = FloraInjector.Attach(model, Config());
        var adapter = attachment.GetFlora<FloraEmbedding>("emb");
        Randomise(adapter, seed: 11);
        double[,] delta = FloraDelta(adapter);
        var output = adapter.forward(Ids2d);
        var baseOutput = Emb(twin).forward(Ids2d); // renormalises the twin's looked-up rows in place, as the base did
        TestTensors.AssertBitEqual(Emb(twin).weight!, Emb(model).weight!, "renormalised base weight");
        var zeroWeight = zeros(Num, Dim);
        TestTensors.AssertClose(baseOutput.to(ScalarType.Float64) + GatherExpected(Ids2d, zeroWeight, delta), output, 1e-5, 1e-6, "max_norm output");
        using (no_grad())
        using (var rowNorms = Emb(model).weight!.index_select(0, Ids2d.flatten()).norm(1))
            Assert.True(rowNorms.max().item<float>() <= 1.0001f);

        attachment.Detach();
        Assert.IsType<Embedding>(model.named_children().First(c => c.name == "emb").module);
        TestTensors.AssertBitEqual(Emb(twin).weight!, Emb(model).weight!, "base weight after detach");
        TestTensors.AssertBitEqual(Emb(twin).forward(Ids2d), Emb(model).forward(Ids2d), "base output after detach");
    }

    [Fact]
    public void Merge_unmerge_disable_detach_and_a_reloaded_file_behave_as_for_every_layer()
    {
        using var scope = NewDisposeScope();
        var model = Model(paddingIdx: 0);
        using var original = Emb(model).weight!.detach().clone();
        using var baseOutput = model.forward(Ids2d);
        var attachment = FloraInjector.Attach(model, Config());
        Randomise(attachment.GetFlora<FloraEmbedding>("emb"), seed: 12);
        var adapted = model.forward(Ids2d);
        Assert.False(adapted.allclose(baseOutput));
        using (attachment.Disable())
            TestTensors.AssertBitEqual(baseOutput, model.forward(Ids2d), "disabled");

        attachment.Merge();
        TestTensors.AssertClose(adapted, model.forward(Ids2d), 1e-5, 1e-5, "merged");
        attachment.Unmerge();
        TestTensors.AssertClose(original, Emb(model).weight!, 1e-6, 1e-6, "unmerged weight");

        string path = Path.Combine(Path.GetTempPath(), $"flora-embedding-{Guid.NewGuid():N}.safetensors");
        try
        {
            attachment.Save(path);
            var keys = Safetensors.Load(path).Tensors.Keys.ToArray();
            Assert.Contains("emb.core", keys);
            Assert.Contains("emb.factor.out", keys);
            Assert.Contains("emb.factor.in", keys);
            var fresh = Model(paddingIdx: 0);
            var loaded = FloraInjector.AttachFromFile(fresh, path);
            Assert.IsType<FloraEmbedding>(loaded["emb"]);
            TestTensors.AssertBitEqual(adapted, fresh.forward(Ids2d), "reloaded");
        }
        finally
        {
            File.Delete(path);
        }

        // Merge then unmerge restores W0 to float tolerance (as for every layer); detach then leaves the base as it is.
        using var beforeDetach = Emb(model).weight!.detach().clone();
        attachment.Detach();
        Assert.IsType<Embedding>(model.named_children().First(c => c.name == "emb").module);
        TestTensors.AssertBitEqual(beforeDetach, Emb(model).weight!, "detached weight");
    }

    [Fact]
    public void Lora_has_PEFTs_names_shapes_initialisation_and_forward()
    {
        using var scope = NewDisposeScope();
        var model = Model(paddingIdx: 0);
        var attachment = FloraInjector.Attach(model, Config() with { Defaults = new FloraModelOptions { LoraRank = 4, LoraAlpha = 8 } }, FloraMethod.Lora);
        var adapter = Assert.IsType<LoraEmbedding>(attachment["emb"]);
        Assert.Equal(new[] { "lora_embedding_A", "lora_embedding_B" }, adapter.AdapterTensors.Select(t => t.Key));
        Assert.Equal(new long[] { 4, Num }, adapter.LoraA.shape);
        Assert.Equal(new long[] { Dim, 4 }, adapter.LoraB.shape);
        Assert.Equal(0, adapter.LoraA.abs().sum().item<float>());
        Assert.True(adapter.LoraB.abs().sum().item<float>() > 0);
        Assert.Equal(4 * (Num + Dim), attachment.TrainableParameters);
        Assert.Equal(2.0, adapter.Config.Scale);

        Randomise(adapter, seed: 13);
        var emb = Emb(model);
        foreach (var ids in new[] { Ids1d, Ids2d })
        {
            // PEFT's Embedding.forward: base(x) + (embed(x, Aᵀ) @ Bᵀ)·scaling.
            using var baseOut = emb.forward(ids);
            using var afterA = adapter.LoraA.t()[TensorIndex.Tensor(ids)];
            using var expected = baseOut + afterA.matmul(adapter.LoraB.t()) * 2.0;
            adapter.ForwardPath = FloraForwardPath.Factorised;
            TestTensors.AssertBitEqual(expected, adapter.forward(ids), "PEFT's forward");
            double[,] delta = LoraDelta(adapter);
            foreach (var path in new[] { FloraForwardPath.Factorised, FloraForwardPath.Materialised, FloraForwardPath.Fused })
            {
                adapter.ForwardPath = path;
                TestTensors.AssertClose(GatherExpected(ids, emb.weight!, delta), adapter.forward(ids), 1e-5, 1e-6, $"LoRA {path}");
            }
            TestTensors.AssertClose(tensor(ToFlat(delta)).reshape(Num, Dim), adapter.Delta(), 1e-5, 1e-6, "LoRA Delta()");
        }

        string path2 = Path.Combine(Path.GetTempPath(), $"flora-embedding-lora-{Guid.NewGuid():N}.safetensors");
        try
        {
            attachment.Save(path2);
            var keys = Safetensors.Load(path2).Tensors.Keys.ToArray();
            Assert.Equal(new[] { "emb.lora_embedding_A", "emb.lora_embedding_B" }, keys.Order());
            var fresh = Model(paddingIdx: 0);
            var loaded = FloraInjector.AttachFromFile(fresh, path2);
            adapter.ForwardPath = FloraForwardPath.Auto;
            TestTensors.AssertBitEqual(model.forward(Ids2d), fresh.forward(Ids2d), "reloaded LoRA");
        }
        finally
        {
            File.Delete(path2);
        }
    }

    [Fact]
    public void Lora_gradients_equal_the_float64_formulation()
    {
        using var scope = NewDisposeScope();
        var model = Model();
        var attachment = FloraInjector.Attach(model, Config() with { Defaults = new FloraModelOptions { LoraRank = 3 } }, FloraMethod.Lora);
        var adapter = (LoraEmbedding)attachment["emb"];
        Randomise(adapter, seed: 14);
        using var weights = TestTensors.Randn(new long[] { 2, 4, Dim }, seed: 15);
        adapter.forward(Ids2d).mul(weights).sum().backward();
        var a = adapter.LoraA.detach().to(ScalarType.Float64).requires_grad_();
        var b = adapter.LoraB.detach().to(ScalarType.Float64).requires_grad_();
        var full = Emb(model).weight!.detach().to(ScalarType.Float64) + b.matmul(a).t() * adapter.Config.Scale;
        full.index_select(0, Ids2d.flatten()).reshape(2, 4, Dim).mul(weights.to(ScalarType.Float64)).sum().backward();
        TestTensors.AssertClose(a.grad!, adapter.LoraA.grad!, 1e-5, 1e-6, "A gradient");
        TestTensors.AssertClose(b.grad!, adapter.LoraB.grad!, 1e-5, 1e-6, "B gradient");
    }

    [Fact]
    public void Lora_matched_to_the_flora_budget_counts_r_times_num_plus_dim()
    {
        using var scope = NewDisposeScope();
        var flora = FloraInjector.Attach(Model(), Config(rank: 3));
        long budget = flora.TrainableParameters;
        var lora = FloraInjector.Attach(Model(), Config(rank: 3), FloraMethod.Lora);
        int rank = ((LoraEmbedding)lora["emb"]).Config.Rank;
        long count = lora.TrainableParameters;
        Assert.Equal(rank * (Num + Dim), count);
        foreach (int other in new[] { rank - 1, rank + 1 }.Where(r => r >= 1 && r <= Dim))
            Assert.True(System.Math.Abs(count - budget) <= System.Math.Abs(other * (Num + Dim) - budget), $"r={rank} is not the closest to {budget}");
    }

    [Fact]
    public void AdaLora_refuses_an_embedding_naming_it()
    {
        using var scope = NewDisposeScope();
        var adaLora = Assert.Throws<ArgumentException>(() => FloraInjector.Attach(Model(), Config(), FloraMethod.AdaLora));
        Assert.Contains("'emb'", adaLora.Message);
        Assert.Contains("AdaLoRA is not supported on embeddings", adaLora.Message);
    }

    [Fact]
    public void Dora_is_PEFTs_DoraEmbeddingLayer_a_magnitude_per_dim_over_the_vocabulary()
    {
        using var scope = NewDisposeScope();
        var model = Model(paddingIdx: 0);
        var emb = Emb(model);
        using var baseOutput = emb.forward(Ids2d);
        var attachment = FloraInjector.Attach(model, Config() with { Defaults = new FloraModelOptions { LoraRank = 3, LoraAlpha = 6 } }, FloraMethod.Dora);
        var adapter = Assert.IsType<DoraEmbedding>(attachment["emb"]);
        Assert.Equal(new[] { "lora_embedding_A", "lora_embedding_B", "magnitude" }, adapter.AdapterTensors.Select(t => t.Key));
        Assert.Equal(new long[] { Dim }, adapter.Magnitude.shape);
        Assert.Equal(3 * (Num + Dim) + Dim, attachment.TrainableParameters);
        using (var w64 = emb.weight!.detach().to(ScalarType.Float64))
            TestTensors.AssertClose(w64.square().sum(new long[] { 0 }).sqrt(), adapter.Magnitude, 1e-6, 0, "magnitude = ‖W0‖ over the vocabulary");
        TestTensors.AssertBitEqual(baseOutput, adapter.forward(Ids2d), "starts as the base");

        Randomise(adapter, seed: 18);
        using (no_grad())
        using (var m = TestTensors.Randn(new[] { Dim }, seed: 19))
            adapter.Magnitude.mul_(m * 0.2 + 1);
        // PEFT: f = m / ‖W0 + s·(B·A)ᵀ‖ (norm over num per dim, detached), y = f·base(x) + f·(Aᵀ[x] @ Bᵀ)·s.
        double[,] delta = LoraDelta(adapter);
        using var w = emb.weight!.detach().to(ScalarType.Float64);
        using var adapted = w + tensor(ToFlat(delta)).reshape(Num, Dim);
        using var f = adapter.Magnitude.detach().to(ScalarType.Float64) / adapted.square().sum(new long[] { 0 }).sqrt();
        foreach (var ids in new[] { Ids1d, Ids2d })
        {
            using var expected = GatherExpected(ids, emb.weight!, delta) * f;
            foreach (var path in new[] { FloraForwardPath.Factorised, FloraForwardPath.Materialised, FloraForwardPath.Fused })
            {
                adapter.ForwardPath = path;
                TestTensors.AssertClose(expected, adapter.forward(ids), 1e-5, 1e-6, $"DoRA {path}");
            }
        }
        adapter.ForwardPath = FloraForwardPath.Auto;
        using var unmerged = model.forward(Ids2d);
        using var original = emb.weight!.detach().clone();
        attachment.Merge();
        TestTensors.AssertClose(unmerged, model.forward(Ids2d), 1e-5, 1e-6, "DoRA merged");
        attachment.Unmerge();
        TestTensors.AssertClose(original, emb.weight!, 1e-5, 1e-6, "DoRA unmerged weight");
    }

    [Fact]
    public void Dora_matched_to_the_flora_budget_adds_one_magnitude_per_dim()
    {
        using var scope = NewDisposeScope();
        long budget = FloraInjector.Attach(Model(), Config(rank: 3)).TrainableParameters;
        var dora = FloraInjector.Attach(Model(), Config(rank: 3), FloraMethod.Dora);
        int rank = ((DoraEmbedding)dora["emb"]).Config.Rank;
        Assert.Equal(rank * (Num + Dim) + Dim, dora.TrainableParameters);
        foreach (int other in new[] { rank - 1, rank + 1 }.Where(r => r >= 1 && r <= Dim))
            Assert.True(System.Math.Abs(dora.TrainableParameters - budget) <= System.Math.Abs(other * (Num + Dim) + Dim - budget), $"r={rank} is not the closest to {budget}");
    }

    [Fact]
    public void BitFit_trains_nothing_on_an_embedding()
    {
        using var scope = NewDisposeScope();
        var attachment = FloraInjector.Attach(Model(), Config(), FloraMethod.BitFit);
        Assert.Equal(0, attachment.TrainableParameters);
        Assert.Equal("no bias", attachment["emb"].Describe());
    }

    [Theory]
    [InlineData(FloraMethod.Houlsby)]
    [InlineData(FloraMethod.Pfeiffer)]
    public void A_bottleneck_acts_on_the_embedding_dim(FloraMethod method)
    {
        using var scope = NewDisposeScope();
        var model = Model();
        using var baseOutput = Emb(model).forward(Ids2d);
        var attachment = FloraInjector.Attach(model, Config() with { Defaults = new FloraModelOptions { AdapterSize = 2 } }, method);
        var adapter = Assert.IsType<BottleneckAdapterLayer>(attachment["emb"]);
        Assert.Equal(2 * Dim + 2 + Dim * 2 + Dim, attachment.TrainableParameters);
        TestTensors.AssertBitEqual(baseOutput, adapter.forward(Ids2d), "starts as the base");
        Flora.Tests.Baselines.BaselineTensors.Randomise(adapter, seed: 16);
        var output = adapter.forward(Ids2d);
        Assert.Equal(new long[] { 2, 4, Dim }, output.shape);
        Assert.False(output.allclose(baseOutput));
    }

    [Theory]
    [InlineData(FloraMethod.Flora)]
    [InlineData(FloraMethod.Lora)]
    [InlineData(FloraMethod.Dora)]
    public void A_PEFT_export_holds_PEFTs_embedding_keys_and_loads_back_as_the_same_function(FloraMethod method)
    {
        using var scope = NewDisposeScope();
        var model = Model(paddingIdx: 0);
        var attachment = FloraInjector.Attach(model, Config(rank: 3, inRank: 2), method);
        if (method == FloraMethod.Dora) Assert.IsType<DoraEmbedding>(attachment["emb"]);
        if (attachment["emb"] is FloraLayer flora) Randomise(flora, seed: 17);
        else Randomise((LoraLayer)attachment["emb"], seed: 17);
        if (attachment["emb"] is DoraLayer dora)
        {
            using var noGrad = no_grad();
            using var m = TestTensors.Randn(new[] { Dim }, seed: 20);
            dora.Magnitude.mul_(m * 0.2 + 1);
        }
        var expected = model.forward(Ids2d);
        string directory = Path.Combine(Path.GetTempPath(), $"flora-embedding-peft-{Guid.NewGuid():N}");
        try
        {
            attachment.SavePeft(directory);
            var tensors = Safetensors.Load(Path.Combine(directory, "adapter_model.safetensors")).Tensors;
            var keys = new[] { "base_model.model.emb.lora_embedding_A", "base_model.model.emb.lora_embedding_B" };
            if (method == FloraMethod.Dora) keys = keys.Append("base_model.model.emb.lora_magnitude_vector").ToArray();
            Assert.Equal(keys, tensors.Keys.Order());
            long rank = method == FloraMethod.Flora ? 2 : ((LoraLayer)attachment["emb"]).Config.Rank;
            Assert.Equal(new[] { rank, Num }, tensors["base_model.model.emb.lora_embedding_A"].shape);
            Assert.Equal(new[] { Dim, rank }, tensors["base_model.model.emb.lora_embedding_B"].shape);

            var fresh = Model(paddingIdx: 0);
            var loaded = FloraInjector.AttachFromPeft(fresh, directory);
            Assert.IsType(method == FloraMethod.Dora ? typeof(DoraEmbedding) : typeof(LoraEmbedding), loaded["emb"]);
            if (method is FloraMethod.Lora or FloraMethod.Dora) TestTensors.AssertBitEqual(expected, fresh.forward(Ids2d), "LoRA through PEFT's layout");
            else TestTensors.AssertClose(expected, fresh.forward(Ids2d), 1e-5, 1e-6, "FLoRA as its exact LoRA");
        }
        finally
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Two alike embeddings summed, then two alike Linears: the Linears group, the embeddings build alone.</summary>
    private sealed class TwoTables : nn.Module<Tensor, Tensor>
    {
        private readonly Embedding first = nn.Embedding(Num, Dim), second = nn.Embedding(Num, Dim);
        private readonly Linear up = nn.Linear(Dim, Dim), down = nn.Linear(Dim, Dim);

        public TwoTables() : base(nameof(TwoTables)) => RegisterComponents();

        public override Tensor forward(Tensor ids)
        {
            using var scope = NewDisposeScope();
            var h = first.call(ids) + second.call(ids);
            return down.call(up.call(h)).MoveToOuterDisposeScope();
        }
    }

    [Theory]
    [InlineData(FloraMethod.Flora)]
    [InlineData(FloraMethod.Lora)]
    public void Alike_embeddings_build_alone_while_alike_Linears_group(FloraMethod method)
    {
        using var scope = NewDisposeScope();
        var model = new TwoTables();
        var config = new FloraConfig
        {
            TargetModules = new[] { "first", "second", "up", "down" },
            Defaults = new FloraModelOptions { Rank = 2, ForwardPath = FloraForwardPath.Materialised },
        };
        var attachment = FloraInjector.Attach(model, config, method);
        foreach (var adapter in attachment.Adapters)
            if (adapter is FloraLayer flora) Randomise(flora, seed: 21);
            else Randomise((LoraLayer)adapter, seed: 21);
        using var grouped = model.call(Ids2d);
        Assert.Equal(2, attachment.GroupedAdapters);
        using var perLayer = model.forward(Ids2d);
        TestTensors.AssertClose(perLayer, grouped, 1e-5, 1e-6, "grouped run");
    }
}
