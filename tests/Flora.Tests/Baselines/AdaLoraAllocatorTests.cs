using TorchSharp.Modules;
using Flora.Tests.Injection;

namespace Flora.Tests.Baselines;

/// <summary>
/// AdaLoRA's rank allocation against a float64 re-implementation of PEFT's RankAllocator written here, step by step with
/// fixed weights and gradients; the budget schedule at chosen steps; the orthogonality regulariser against its formula
/// and its gradient; and the errors that name what to fix.
/// </summary>
public class AdaLoraAllocatorTests
{
    private static FloraConfig Config(AdaLoraOptions options) => new()
    {
        TargetModules = new[] { "conv1", "dw", "pw", "head" },
        Defaults = new FloraModelOptions { Rank = 4, R3 = 2, AdaLora = options },
    };

    private static AdaLoraLayer[] Adapters(FloraAttachment attachment) => attachment.Adapters.Cast<AdaLoraLayer>().ToArray();

    /// <summary>Q, P and Λ of an adapter, in the order the reference keeps them.</summary>
    private static Parameter[] Tensors(AdaLoraLayer adapter) => new[] { adapter.LoraA, adapter.LoraB, adapter.LoraE };

    /// <summary>PEFT's RankAllocator and update_and_allocate in float64 over plain arrays.</summary>
    private sealed class Reference(AdaLoraOptions options, int[] ranks, int[] targets)
    {
        private double[][][]? _sensitivity, _uncertainty; // [adapter][Q, P, Λ][element]
        public readonly bool[][] Patterns = ranks.Select(r => Enumerable.Repeat(true, r).ToArray()).ToArray();

        public (int Budget, bool Mask) Schedule(int step)
        {
            int init = ranks.Sum(), target = targets.Sum(), total = options.TotalSteps!.Value;
            if (step <= options.TInit) return (init, false);
            if (step > total - options.TFinal) return (target, true);
            double remaining = 1 - (double)(step - options.TInit) / (total - options.TFinal - options.TInit);
            return ((int)((init - target) * remaining * remaining * remaining + target), step % options.DeltaT == 0);
        }

        /// <summary>One step: <paramref name="values"/> and <paramref name="gradients"/> [adapter][Q, P, Λ] flat; returns Λ after it.</summary>
        public double[][] Step(int step, double[][][] values, double[][][] gradients, int[] outs)
        {
            int final = options.TotalSteps!.Value - options.TFinal;
            bool zeroed = step > final; // after the final allocation every step zeroes the masked triplets again
            if (step < final)
            {
                _sensitivity ??= values.Select(v => v.Select(t => new double[t.Length]).ToArray()).ToArray();
                _uncertainty ??= values.Select(v => v.Select(t => new double[t.Length]).ToArray()).ToArray();
                for (int i = 0; i < values.Length; i++)
                    for (int j = 0; j < 3; j++)
                        for (int e = 0; e < values[i][j].Length; e++)
                        {
                            double importance = System.Math.Abs(values[i][j][e] * gradients[i][j][e]);
                            double s = _sensitivity[i][j][e] = options.Beta1 * _sensitivity[i][j][e] + (1 - options.Beta1) * importance;
                            _uncertainty![i][j][e] = options.Beta2 * _uncertainty[i][j][e] + (1 - options.Beta2) * System.Math.Abs(importance - s);
                        }
                var (budget, mask) = Schedule(step);
                if (mask) Mask(budget, outs);
                zeroed = mask;
            }
            else if (step == final)
            {
                Mask(Schedule(step).Budget, outs);
                zeroed = true;
                _sensitivity = _uncertainty = null;
            }
            return values.Select((v, i) => v[2].Select((x, row) => Patterns[i][row] || !zeroed ? x : 0).ToArray()).ToArray();
        }

        private void Mask(int budget, int[] outs)
        {
            var scores = new List<double[]>();
            for (int i = 0; i < ranks.Length; i++)
            {
                int r = ranks[i];
                double Score(int j, int e) => _sensitivity![i][j][e] * _uncertainty![i][j][e];
                int columns = _sensitivity![i][0].Length / r;
                var triplet = new double[r];
                for (int p = 0; p < r; p++)
                {
                    double rowOfQ = Enumerable.Range(0, columns).Sum(c => Score(0, p * columns + c)) / columns;
                    double columnOfP = Enumerable.Range(0, outs[i]).Sum(o => Score(1, o * r + p)) / outs[i];
                    triplet[p] = Score(2, p) + rowOfQ + columnOfP;
                }
                scores.Add(triplet);
            }
            int k = ranks.Sum() - budget;
            if (k <= 0)
            {
                foreach (var pattern in Patterns) Array.Fill(pattern, true);
                return;
            }
            double threshold = scores.SelectMany(s => s).Order().ElementAt(k - 1);
            for (int i = 0; i < ranks.Length; i++)
                for (int p = 0; p < ranks[i]; p++) Patterns[i][p] = scores[i][p] > threshold;
        }
    }

    private static double[] Flat(Tensor tensor) => tensor.detach().to(ScalarType.Float64).cpu().reshape(-1).data<double>().ToArray();

    [Fact]
    public void Masks_and_singular_values_follow_a_float64_reimplementation_of_PEFTs_allocator_step_by_step()
    {
        var options = new AdaLoraOptions { InitRank = 4, TargetRank = 2, TotalSteps = 8, TInit = 1, TFinal = 2, DeltaT = 2, Beta1 = 0.8, Beta2 = 0.9 };
        using var model = new TinyNet();
        var attachment = FloraInjector.Attach(model, Config(options), FloraMethod.AdaLora);
        var adapters = Adapters(attachment);
        Assert.Equal(4, adapters.Length);
        var allocator = attachment.RankAllocator!;
        Assert.Equal((16, 8), (allocator.InitialBudget, allocator.TargetBudget));
        var reference = new Reference(options, adapters.Select(a => a.Config.Rank).ToArray(), adapters.Select(a => a.Config.TargetRank).ToArray());
        int[] outs = adapters.Select(a => (int)a.LoraB.shape[0]).ToArray();

        int masked = 0;
        for (int step = 1; step <= 8; step++)
        {
            using var scope = torch.NewDisposeScope();
            var values = new double[adapters.Length][][];
            var gradients = new double[adapters.Length][][];
            for (int i = 0; i < adapters.Length; i++)
            {
                var tensors = Tensors(adapters[i]);
                values[i] = new double[3][];
                gradients[i] = new double[3][];
                for (int j = 0; j < 3; j++)
                {
                    long seed = 1000 * step + 10 * i + j;
                    var value = TestTensors.Randn(tensors[j].shape, seed) * 0.3;
                    var gradient = TestTensors.Randn(tensors[j].shape, seed + 500);
                    using (torch.no_grad()) tensors[j].copy_(value);
                    tensors[j].grad = gradient;
                    values[i][j] = Flat(tensors[j]);
                    gradients[i][j] = Flat(gradient);
                }
            }
            Assert.Equal(reference.Schedule(step), allocator.BudgetSchedule(step));
            var expectedLambda = reference.Step(step, values, gradients, outs);
            attachment.UpdateAndAllocate(step);
            for (int i = 0; i < adapters.Length; i++)
            {
                Assert.True(reference.Patterns[i].SequenceEqual(adapters[i].RankPattern), $"step {step}, {adapters[i].Name}: pattern {string.Join("", adapters[i].RankPattern.Select(k => k ? 1 : 0))}, expected {string.Join("", reference.Patterns[i].Select(k => k ? 1 : 0))}");
                Assert.Equal(expectedLambda[i], Flat(adapters[i].LoraE));
            }
            masked = adapters.Sum(a => a.Config.Rank - a.ActiveRank);
        }
        Assert.Equal(8, masked); // the final budget: 16 − 8 triplets masked
        Assert.Equal(8, adapters.Sum(a => a.ActiveRank));
    }

    [Fact]
    public void The_budget_falls_as_a_cubic_from_the_initial_to_the_target_sum()
    {
        using var model = new TinyNet();
        var attachment = FloraInjector.Attach(model, new FloraConfig
        {
            TargetModules = new[] { "conv1", "pw", "head" },
            Defaults = new FloraModelOptions { AdaLora = new AdaLoraOptions { InitRank = 6, TargetRank = 4, TotalSteps = 10, TInit = 2, TFinal = 2 } },
        }, FloraMethod.AdaLora);
        var allocator = attachment.RankAllocator!;
        Assert.Equal((18, 12), (allocator.InitialBudget, allocator.TargetBudget));
        // Warm-up (≤ TInit): every rank kept, no masking.
        Assert.Equal((18, false), allocator.BudgetSchedule(0));
        Assert.Equal((18, false), allocator.BudgetSchedule(2));
        // Cubic: ⌊12 + 6·(1 − (t − 2)/6)³⌋.
        Assert.Equal((15, true), allocator.BudgetSchedule(3)); // 12 + 6·(5/6)³ = 15.47
        Assert.Equal((13, true), allocator.BudgetSchedule(4)); // 12 + 6·(4/6)³ = 13.78
        Assert.Equal((12, true), allocator.BudgetSchedule(5)); // 12.75
        Assert.Equal((12, true), allocator.BudgetSchedule(8)); // TotalSteps − TFinal: the final allocation
        // Final phase: the target, masked every step.
        Assert.Equal((12, true), allocator.BudgetSchedule(9));
        Assert.Equal((12, true), allocator.BudgetSchedule(10));

        using var other = new TinyNet();
        var everyOther = FloraInjector.Attach(other, new FloraConfig
        {
            TargetModules = new[] { "conv1", "pw", "head" },
            Defaults = new FloraModelOptions { AdaLora = new AdaLoraOptions { InitRank = 6, TargetRank = 4, TotalSteps = 10, TInit = 2, TFinal = 2, DeltaT = 2 } },
        }, FloraMethod.AdaLora).RankAllocator!;
        Assert.Equal((15, false), everyOther.BudgetSchedule(3));
        Assert.Equal((13, true), everyOther.BudgetSchedule(4));
    }

    [Fact]
    public void Matched_target_ranks_sum_to_the_target_budget()
    {
        using var model = new TinyNet();
        var attachment = FloraInjector.Attach(model, TinyNet.Config(new FloraModelOptions { Rank = 4, R3 = 2, AdaLora = new AdaLoraOptions { TotalSteps = 20 } }), FloraMethod.AdaLora);
        var adapters = Adapters(attachment);
        Assert.Equal(adapters.Sum(a => a.Config.TargetRank), attachment.RankAllocator!.TargetBudget);
        Assert.Equal(adapters.Sum(a => a.Config.Rank), attachment.RankAllocator.InitialBudget);
        Assert.Contains(adapters, a => a.Config.TargetRank != adapters[0].Config.TargetRank); // matched per target
        Assert.All(adapters, a => Assert.NotNull(a.Config.MatchedBudget));
    }

    [Fact]
    public void Without_TotalSteps_the_allocation_says_what_to_set()
    {
        using var model = new TinyNet();
        var attachment = FloraInjector.Attach(model, TinyNet.Config(), FloraMethod.AdaLora);
        var error = Assert.Throws<InvalidOperationException>(() => attachment.UpdateAndAllocate(1));
        Assert.Contains("set FloraModelOptions.AdaLora.TotalSteps to the number of optimizer steps", error.Message);
    }

    [Fact]
    public void A_missing_gradient_is_a_clear_error_and_changes_no_score()
    {
        using var model = new TinyNet();
        var attachment = FloraInjector.Attach(model, Config(new AdaLoraOptions { TotalSteps = 10 }), FloraMethod.AdaLora);
        var error = Assert.Throws<InvalidOperationException>(() => attachment.UpdateAndAllocate(1));
        Assert.Contains("'conv1.lora_A', which has none", error.Message);
        Assert.Contains("after loss.backward()", error.Message);

        using var x = TestTensors.Randn(new long[] { 2, 3, 8, 8 }, seed: 1);
        model.forward(x).square().mean().backward();
        var head = (AdaLoraLayer)attachment["head"];
        head.LoraB.grad = null; // as after a zero_grad that sets gradients to none
        error = Assert.Throws<InvalidOperationException>(() => attachment.UpdateAndAllocate(1));
        Assert.Contains("'head.lora_B', which has none", error.Message);
        Assert.False(attachment.RankAllocator!.HasScores);
    }

    [Fact]
    public void The_final_allocation_needs_scores_gathered_before_it()
    {
        using var model = new TinyNet();
        var attachment = FloraInjector.Attach(model, Config(new AdaLoraOptions { TotalSteps = 4, TFinal = 1 }), FloraMethod.AdaLora);
        var error = Assert.Throws<InvalidOperationException>(() => attachment.UpdateAndAllocate(3));
        Assert.Contains("no importance scores have been gathered yet", error.Message);
    }

    [Fact]
    public void A_target_budget_equal_to_the_initial_one_masks_nothing()
    {
        using var model = new TinyNet();
        var attachment = FloraInjector.Attach(model, Config(new AdaLoraOptions { InitRank = 3, TargetRank = 3, TotalSteps = 4, TFinal = 1 }), FloraMethod.AdaLora);
        foreach (var adapter in Adapters(attachment)) BaselineTensors.Randomise(adapter, seed: 5);
        var before = Adapters(attachment).Select(a => a.LoraE.detach().clone()).ToArray();
        using var x = TestTensors.Randn(new long[] { 2, 3, 8, 8 }, seed: 1);
        for (int step = 1; step <= 4; step++)
        {
            using var scope = torch.NewDisposeScope();
            foreach (var p in attachment.Parameters()) p.grad = null;
            model.forward(x).square().mean().backward();
            attachment.UpdateAndAllocate(step);
        }
        foreach (var (adapter, lambda) in Adapters(attachment).Zip(before))
        {
            Assert.All(adapter.RankPattern, Assert.True);
            TestTensors.AssertBitEqual(lambda, adapter.LoraE, adapter.Name);
        }
    }

    [Fact]
    public void After_the_final_allocation_the_masked_triplets_are_zeroed_again_every_step()
    {
        using var model = new TinyNet();
        var attachment = FloraInjector.Attach(model, Config(new AdaLoraOptions { InitRank = 4, TargetRank = 2, TotalSteps = 5, TInit = 1, TFinal = 2 }), FloraMethod.AdaLora);
        foreach (var adapter in Adapters(attachment)) BaselineTensors.Randomise(adapter, seed: 6);
        using var x = TestTensors.Randn(new long[] { 2, 3, 8, 8 }, seed: 2);
        for (int step = 1; step <= 3; step++)
        {
            using var scope = torch.NewDisposeScope();
            foreach (var p in attachment.Parameters()) p.grad = null;
            model.forward(x).square().mean().backward();
            attachment.UpdateAndAllocate(step);
        }
        Assert.False(attachment.RankAllocator!.HasScores); // reset at the final allocation (step 3)
        var patterns = Adapters(attachment).Select(a => a.RankPattern.ToArray()).ToArray();
        Assert.Equal(8, patterns.Sum(p => p.Count(k => k)));
        using (torch.no_grad())
            foreach (var adapter in Adapters(attachment)) adapter.LoraE.fill_(0.5); // an optimizer step revives them
        attachment.UpdateAndAllocate(4); // no gradient needed after the final allocation
        foreach (var (adapter, pattern) in Adapters(attachment).Zip(patterns))
        {
            Assert.Equal(pattern, adapter.RankPattern);
            Assert.Equal(pattern.Select(k => k ? 0.5 : 0.0), Flat(adapter.LoraE));
        }
    }

    [Fact]
    public void Allocation_while_merged_is_refused()
    {
        using var model = new TinyNet();
        var attachment = FloraInjector.Attach(model, Config(new AdaLoraOptions { TotalSteps = 10 }), FloraMethod.AdaLora);
        attachment.Merge();
        Assert.Contains("while the adapters are merged", Assert.Throws<InvalidOperationException>(() => attachment.UpdateAndAllocate(1)).Message);
    }

    [Fact]
    public void The_orthogonality_term_is_the_weighted_mean_of_the_Frobenius_distances_and_its_gradient_follows()
    {
        using var model = new TinyNet();
        var attachment = FloraInjector.Attach(model, Config(new AdaLoraOptions { InitRank = 3, TargetRank = 2, OrthRegWeight = 0.3 }), FloraMethod.AdaLora);
        var adapters = Adapters(attachment);
        using (torch.no_grad())
            foreach (var (adapter, i) in adapters.Select((a, i) => (a, i)))
            {
                adapter.LoraA.copy_(TestTensors.Randn(adapter.LoraA.shape, 40 + i) * 0.3);
                adapter.LoraB.copy_(TestTensors.Randn(adapter.LoraB.shape, 60 + i) * 0.3);
            }
        using var term = attachment.OrthogonalRegularization();
        Assert.Equal(0, term.dim());

        // ‖M‖_F = √(Σ M²), M = QQᵀ − I and PᵀP − I, in float64; ∂‖M‖/∂Q = 2·M·Q/‖M‖, ∂‖M‖/∂P = 2·P·M/‖M‖.
        double sum = 0;
        var gradients = new List<(Parameter Tensor, Tensor Expected)>();
        int count = 2 * adapters.Length;
        foreach (var adapter in adapters)
        {
            var q = adapter.LoraA.detach().to(ScalarType.Float64);
            var p = adapter.LoraB.detach().to(ScalarType.Float64);
            var identity = torch.eye(q.shape[0], dtype: ScalarType.Float64);
            var mq = q.matmul(q.t()) - identity;
            var mp = p.t().matmul(p) - identity;
            double nq = System.Math.Sqrt(mq.square().sum().item<double>()), np = System.Math.Sqrt(mp.square().sum().item<double>());
            sum += nq + np;
            gradients.Add((adapter.LoraA, mq.matmul(q) * (2 * 0.3 / count / nq)));
            gradients.Add((adapter.LoraB, p.matmul(mp) * (2 * 0.3 / count / np)));
        }
        Assert.Equal(0.3 * sum / count, term.item<float>(), 5);
        term.backward();
        foreach (var (tensor, expected) in gradients) TestTensors.AssertClose(expected, tensor.grad!, 1e-4, 1e-6, "orthogonality gradient");

        using var lora = new TinyNet();
        using var zero = FloraInjector.Attach(lora, TinyNet.Config(), FloraMethod.Lora).OrthogonalRegularization();
        Assert.Equal(0f, zero.item<float>());
    }
}
