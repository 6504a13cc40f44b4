namespace Flora.Tests.Baselines;

/// <summary>
/// Budget matching against hand-computed ranks and counts. FLoRA: <c>Π r_n + Σ I_n·r_n</c>; LoRA: <c>r·(out + K)</c>,
/// <c>K = (in/groups)·Πk</c>; DoRA: LoRA's plus <c>out</c>; the closest count wins, ties to the smaller rank, r in
/// <c>[1, min(out, K)]</c>.
/// </summary>
public class BudgetMatchingTests
{
    /// <summary>One shape of the table with its hand-computed FLoRA count and matched LoRA and DoRA ranks and counts.</summary>
    public sealed record Row(string Name, long[] WeightShape, int Rank, int R3, long Flora, int LoraRank, long LoraCount, int DoraRank, long DoraCount)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<Row> Table() => new()
    {
        // [32, 64], ranks (8, 8): 64 + 32·8 + 64·8 = 832. LoRA 96/rank: r=8 768 (−64), r=9 864 (+32) → 9.
        // DoRA 96r + 32: r=8 800 (−32), r=9 896 (+64) → 8.
        new Row("linear 64→32", new long[] { 32, 64 }, 8, 1, 832, 9, 864, 8, 800),
        // [64, 32, 3, 3], ranks (8, 8, 2, 2): 256 + 512 + 256 + 6 + 6 = 1036. K = 288, 352/rank: r=2 704, r=3 1056 (+20) → 3.
        // DoRA 352r + 64: r=2 768 (−268), r=3 1120 (+84) → 3.
        new Row("conv 3x3 32→64", new long[] { 64, 32, 3, 3 }, 8, 2, 1036, 3, 1056, 3, 1120),
        // [32, 16, 1, 1], ranks (4, 4, 1, 1): 16 + 128 + 64 + 1 + 1 = 210. 48/rank: r=4 192 (−18), r=5 240 (+30) → 4.
        // DoRA 48r + 32: r=3 176 (−34), r=4 224 (+14) → 4.
        new Row("conv 1x1 16→32", new long[] { 32, 16, 1, 1 }, 4, 1, 210, 4, 192, 4, 224),
        // [96, 1, 7, 7], ranks (8, 1, 2, 2): 32 + 768 + 1 + 14 + 14 = 829. K = 49, 145/rank: r=5 725 (−104), r=6 870 (+41) → 6.
        // DoRA 145r + 96: r=5 821 (−8), r=6 966 (+137) → 5.
        new Row("depthwise 7x7 96", new long[] { 96, 1, 7, 7 }, 8, 2, 829, 6, 870, 5, 821),
        // [64, 1, 3, 3], ranks (16, 1, 3, 3): 144 + 1024 + 1 + 9 + 9 = 1187. K = 9, full rank 9: 1187/73 = 16.3 → capped at 9, 657.
        // DoRA: 9·73 + 64 = 721.
        new Row("depthwise 3x3 64 capped", new long[] { 64, 1, 3, 3 }, 16, 3, 1187, 9, 657, 9, 721),
        // [8, 4, 3, 3, 3], ranks (4, 4, 2, 2, 2): 128 + 32 + 16 + 18 = 194. K = 108, 116/rank: r=1 116 (−78), r=2 232 (+38) → 2.
        // DoRA 116r + 8: r=1 124 (−70), r=2 240 (+46) → 2.
        new Row("conv3d 3x3x3 4→8", new long[] { 8, 4, 3, 3, 3 }, 4, 2, 194, 2, 232, 2, 240),
        // [3, 5], ranks (2, 2): 4 + 6 + 10 = 20. 8/rank: r=2 16 (−4), r=3 24 (+4): a tie → the smaller, 2.
        // DoRA 8r + 3: r=2 19 (−1) → 2.
        new Row("linear 5→3 tie", new long[] { 3, 5 }, 2, 1, 20, 2, 16, 2, 19),
        // [100, 100], ranks (1, 1): 1 + 200 = 201. 200/rank: r=1 200 → 1. DoRA 200r + 100: below r=1's 300 → 1.
        new Row("linear 100→100 floor", new long[] { 100, 100 }, 1, 1, 201, 1, 200, 1, 300),
    };

    [Theory]
    [MemberData(nameof(Table))]
    public void The_matched_rank_is_the_closest_count_ties_to_the_smaller(Row row)
    {
        var flora = FloraLayerConfig.Resolve(row.Name, row.WeightShape, new FloraModelOptions { Rank = row.Rank, R3 = row.R3 }, FloraTargetOptions.Inherit);
        Assert.Equal(row.Flora, flora.TrainableParameters);

        var lora = BudgetMatching.LoraRank(flora, dora: false);
        Assert.Equal(new LoraBudget(row.LoraRank, row.Flora, row.LoraCount, false), lora);
        Assert.Equal(row.LoraCount, BudgetMatching.LoraParameters(row.WeightShape, row.LoraRank, dora: false));

        var dora = BudgetMatching.LoraRank(flora, dora: true);
        Assert.Equal(new LoraBudget(row.DoraRank, row.Flora, row.DoraCount, true), dora);
        Assert.Equal(row.DoraCount, BudgetMatching.LoraParameters(row.WeightShape, row.DoraRank, dora: true));
    }

    [Fact]
    public void The_budget_reads_as_a_report_line_and_the_full_rank_caps_it()
    {
        var flora = FloraLayerConfig.Resolve("conv", new long[] { 64, 32, 3, 3 }, new FloraModelOptions { Rank = 8, R3 = 2 }, FloraTargetOptions.Inherit);
        Assert.Equal($"FLoRA {1036:N0} → LoRA r=3, {1056:N0}", BudgetMatching.LoraRank(flora, dora: false).ToString());
        Assert.Equal($"FLoRA {1036:N0} → DoRA r=3, {1120:N0}", BudgetMatching.LoraRank(flora, dora: true).ToString());
        Assert.Equal(49, BudgetMatching.FullRank(new long[] { 96, 1, 7, 7 }));
        Assert.Equal(10, BudgetMatching.FullRank(new long[] { 10, 32 }));
    }

    [Fact]
    public void Attached_adapters_use_the_matched_rank_and_count()
    {
        using var conv = nn.Conv2d(32, 64, 3);
        var model = new FloraModelOptions { Rank = 8, R3 = 2 };
        var lora = (LoraLayer)AdapterDispatch.Create(FloraMethod.Lora, "conv", conv, model, FloraTargetOptions.Inherit);
        Assert.Equal(3, lora.Config.Rank);
        Assert.Equal(1056, lora.TrainableParameters);
        Assert.Equal(1036, lora.Config.MatchedBudget!.Value.FloraParameters);
        lora.ReleaseBaseLayer();
        lora.Dispose();

        // A target's own ranks change its FLoRA budget and so its matched rank: Rank 16 → (16·16·4 + 1024 + 512 + 12) = 2572; 352/rank → r=7 2464 (−108), r=8 2816 → 7.
        var dora = (DoraLayer)AdapterDispatch.Create(FloraMethod.Dora, "conv", conv, model, new FloraTargetOptions { Rank = 16 });
        Assert.Equal(2572, dora.Config.MatchedBudget!.Value.FloraParameters);
        Assert.Equal(7, dora.Config.Rank); // DoRA 352r + 64: r=7 2528 (−44), r=8 2880 → 7
        Assert.Equal(2528, dora.TrainableParameters);
        dora.ReleaseBaseLayer();
        dora.Dispose();
    }
}
