using System.IO;
using Flora.Tests.Injection;

namespace Flora.Tests.Transfer;

/// <summary>LoRA and DoRA at a chosen rank (PEFT's r, lora_alpha, rank_pattern, alpha_pattern, use_rslora).</summary>
public class LoraRankTests
{
    /// <summary>r·(out + (in/groups)·Πk), plus out for DoRA's magnitude: the count written out from the weight's shape.</summary>
    private static long Expected(long[] weightShape, int rank, bool dora)
    {
        long columns = 1;
        for (int i = 1; i < weightShape.Length; i++) columns *= weightShape[i];
        return rank * (weightShape[0] + columns) + (dora ? weightShape[0] : 0);
    }

    [Theory]
    [InlineData(FloraMethod.Lora)]
    [InlineData(FloraMethod.Dora)]
    public void A_chosen_rank_gives_exactly_r_times_out_plus_columns_per_layer(FloraMethod method)
    {
        using var model = new TinyNet();
        var attachment = FloraInjector.Attach(model, TinyNet.Config(new FloraModelOptions { LoraRank = 3, LoraAlpha = 6 }), method);
        foreach (LoraLayer adapter in attachment.Adapters)
        {
            int rank = System.Math.Min(3, BudgetMatching.FullRank(adapter.Spec.WeightShape));
            Assert.Equal(rank, adapter.Config.Rank);
            Assert.Null(adapter.Config.MatchedBudget);
            Assert.Equal(Expected(adapter.Spec.WeightShape, rank, method == FloraMethod.Dora), adapter.TrainableParameters);
            Assert.Equal(adapter.AdapterTensors.Sum(t => t.Tensor.numel()), adapter.TrainableParameters);
            Assert.Equal(6.0 / rank, adapter.Config.Scale, 15);
        }
        var dw = (LoraLayer)attachment["dw"]; // depthwise [8, 1, 7, 7]: in/groups = 1
        Assert.Equal(3 * (8 + 49) + (method == FloraMethod.Dora ? 8 : 0), dw.TrainableParameters);
        attachment.Detach();
    }

    /// <summary>
    /// LoRA at a chosen rank has no FLoRA configuration to resolve: FLoRA's settings (here an explicit R3 larger than
    /// conv1's 3×3 kernel, and a Rank below 1) must not refuse it, as they did while LoRA was resolved through FLoRA's
    /// configuration (issue 27). Unset, the rank is matched to FLoRA's budget, and then FLoRA's settings do count.
    /// </summary>
    [Theory]
    [InlineData(FloraMethod.Lora)]
    [InlineData(FloraMethod.Dora)]
    public void A_chosen_LoRA_rank_ignores_FLoRA_settings_that_FLoRA_itself_would_refuse(FloraMethod method)
    {
        using var model = new TinyNet();
        var config = TinyNet.Config() with
        {
            Defaults = new FloraModelOptions { Rank = 0, LoraRank = 2, Dropout = 0.1 },
            Overrides = new[] { ("conv1", new FloraTargetOptions { R3 = 9 }) },
        };
        var attachment = FloraInjector.Attach(model, config, method);
        Assert.All(attachment.Adapters.Cast<LoraLayer>(), a => Assert.Equal((2, 0.1), (a.Config.Rank, a.Config.Dropout)));
        attachment.Detach();

        var matched = Assert.Throws<ArgumentException>(() => FloraInjector.Attach(model, config with { Defaults = config.Defaults with { LoraRank = null } }, method));
        Assert.Contains("Rank 0 of 'conv", matched.Message, StringComparison.Ordinal); // matching needs FLoRA's budget, so FLoRA's rules apply
        Assert.Contains($"{(method == FloraMethod.Dora ? "DoRA" : "LoRA")}'s rank of 'conv", matched.Message, StringComparison.Ordinal);
        Assert.Contains("LoraRank is unset", matched.Message, StringComparison.Ordinal);
        Assert.Contains("set LoraRank", matched.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Per_pattern_ranks_and_alphas_override_the_model_and_unset_ones_stay_matched()
    {
        using var model = new TinyNet();
        var config = TinyNet.Config() with
        {
            Defaults = new FloraModelOptions { Rank = 4, R3 = 2, LoraAlpha = 16 },
            Overrides = new[]
            {
                ("head", new FloraTargetOptions { LoraRank = 2, LoraAlpha = 1 }),
                ("conv1", new FloraTargetOptions { LoraRank = 5 }),
            },
        };
        var attachment = FloraInjector.Attach(model, config, FloraMethod.Lora);
        var head = (LoraLayer)attachment["head"];
        Assert.Equal((2, 0.5), (head.Config.Rank, head.Config.Scale));
        var conv1 = (LoraLayer)attachment["conv1"];
        Assert.Equal((5, 16.0 / 5), (conv1.Config.Rank, conv1.Config.Scale));
        var dw = (LoraLayer)attachment["dw"];
        Assert.NotNull(dw.Config.MatchedBudget);
        Assert.Equal(dw.Config.MatchedBudget!.Value.Rank, dw.Config.Rank);
        attachment.Detach();
    }

    [Fact]
    public void A_rank_above_the_full_rank_is_clamped_and_a_rank_below_one_is_refused()
    {
        using var model = new TinyNet();
        var attachment = FloraInjector.Attach(model, TinyNet.Config(new FloraModelOptions { LoraRank = 64 }), FloraMethod.Lora);
        Assert.Equal(8, ((LoraLayer)attachment["head"]).Config.Rank); // head [10, 8]: min(10, 8)
        Assert.Equal(8, ((LoraLayer)attachment["dw"]).Config.Rank);   // dw [8, 1, 7, 7]: min(8, 49)
        attachment.Detach();
        var error = Assert.Throws<ArgumentException>(() => FloraInjector.Attach(model, TinyNet.Config(new FloraModelOptions { LoraRank = 0 }), FloraMethod.Lora));
        Assert.Contains("FloraModelOptions.LoraRank 0 is less than 1", error.Message);
        var alpha = Assert.Throws<ArgumentException>(() => FloraInjector.Attach(model, TinyNet.Config(new FloraModelOptions { LoraRank = 2, LoraAlpha = -1 }), FloraMethod.Dora));
        Assert.Contains("alpha -1 of 'conv1'", alpha.Message);
        Assert.All(model.parameters(), p => Assert.True(p.requires_grad));
    }

    [Theory]
    [InlineData(5, 8.0, true)]
    [InlineData(5, 8.0, false)]
    [InlineData(3, 7.0, true)]
    public void Chosen_ranks_and_rsLoRA_scales_round_trip_through_AttachFromFile(int rank, double alpha, bool rsLora)
    {
        using var model = new TinyNet();
        var options = new FloraModelOptions { LoraRank = rank, LoraAlpha = alpha, UseRsLora = rsLora };
        var attachment = FloraInjector.Attach(model, TinyNet.Config(options), FloraMethod.Dora);
        string path = Path.Combine(Path.GetTempPath(), $"flora-rank-{Guid.NewGuid():N}.safetensors");
        try
        {
            attachment.Save(path);
            var entry = AdapterFile.ReadConfig(path).Targets.First();
            Assert.Equal(alpha, entry.LoraAlpha);
            Assert.Equal(rsLora, entry.UseRsLora);
            using var fresh = new TinyNet();
            var loaded = FloraInjector.AttachFromFile(fresh, path);
            foreach (var (a, b) in attachment.Adapters.Cast<LoraLayer>().Zip(loaded.Adapters.Cast<LoraLayer>()))
            {
                Assert.Equal(a.Config.Rank, b.Config.Rank);
                Assert.Equal(a.Config.Scale, b.Config.Scale);
                Assert.Equal(a.Config.UseRsLora, b.Config.UseRsLora);
            }
            // The same settings attach and load without AttachFromFile too.
            using var again = new TinyNet();
            FloraInjector.Attach(again, TinyNet.Config(options), FloraMethod.Dora).Load(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_scale_that_differs_is_reported_with_every_digit()
    {
        using var model = new TinyNet();
        var attachment = FloraInjector.Attach(model, TinyNet.Config(new FloraModelOptions { LoraRank = 5, LoraAlpha = 8 }), FloraMethod.Lora);
        string path = Path.Combine(Path.GetTempPath(), $"flora-scale-{Guid.NewGuid():N}.safetensors");
        try
        {
            attachment.Save(path);
            using var other = new TinyNet();
            var mismatched = FloraInjector.Attach(other, TinyNet.Config(new FloraModelOptions { LoraRank = 5, LoraAlpha = 8.000001 }), FloraMethod.Lora);
            var error = Assert.Throws<AdapterFileException>(() => mismatched.Load(path));
            Assert.Contains("scale 1.6 ", error.Message);
            Assert.Contains("scale 1.6000001999999998 (α 8.000001)", error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
