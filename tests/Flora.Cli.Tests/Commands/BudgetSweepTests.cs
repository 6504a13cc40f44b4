using System.IO;
using Flora.Cli.Commands;
using Flora.Cli.Experiments;
using Flora.Comparison;
using Flora.Data;
using Flora.Reports;
using Flora.Testing;
using Spectre.Console.Testing;

namespace Flora.Cli.Tests.Commands;

/// <summary>
/// <c>flora compare --budgets</c> end to end on tiny data on the CPU: a sweep of three FLoRA configurations (one a scale
/// variant) with LoRA and DoRA matched to each, a learning rate chosen per method and budget, the budget table and
/// plot; then <c>--resume</c> adding a seed without repeating a run or a search, and <c>flora report</c> merging
/// sweeps that ran as separate processes.
/// </summary>
[Collection(ConsoleOutputCollection.Name)]
public sealed class BudgetSweepTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flora-sweep-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private (CompareSettings Settings, ExperimentData Data) Tiny(string output)
    {
        var settings = CompareSmokeTests.TinySettings(_dir) with
        {
            OutputDirectory = Path.Combine(_dir, output),
            Budgets = new[] { "1:1", "4:1", "4:1:0.4" }.Select(FloraBudget.Parse).ToArray(),
            LearningRateGrid = new[] { 1e-3, 1e-2 },
            SearchEpochs = 1,
        };
        var (basePath, _) = BaseModelStore.Ensure(settings.CacheDirectory, settings.Pretrain, CompareSmokeTests.Tiny("mnist", 2, 1), CompareSmokeTests.Tiny("mnist test", 1, 2), CPU, _ => { });
        return (settings, new ExperimentData(CompareSmokeTests.Tiny("fashion", 3, 4), CompareSmokeTests.Tiny("fashion test", 1, 5), basePath));
    }

    [Fact]
    public void A_sweep_matches_each_budget_searches_each_rate_and_reports_per_budget_then_resumes_with_a_seed_more()
    {
        var (settings, data) = Tiny("sweep");
        var plans = CompareCommand.Select(settings.Plans(), Array.Empty<string>());
        Assert.Equal(2 + 3 * 2 + 1, plans.Count); // full, BitFit; LoRA, DoRA, FLoRA at r1 and r4; FLoRA s=0.4 at r4 (the paper's other baselines are opt-in)

        var runs = CompareRunner.Run(settings, plans, new TestConsole(), data, CPU);

        Assert.Equal(plans.Count * settings.Seeds, runs.Count);
        var trainable = runs.GroupBy(r => r.Method).ToDictionary(g => g.Key, g => g.First().TrainableParameters);
        foreach (var budget in new[] { "r1 R3=1", "r4 R3=1" })
            Assert.InRange((double)trainable[$"LoRA (budget {budget})"] / trainable[$"FLoRA (budget {budget})"], 0.5, 2.0); // matched
        Assert.True(trainable["FLoRA (budget r1 R3=1)"] < trainable["FLoRA (budget r4 R3=1)"]);
        Assert.Equal(trainable["FLoRA (budget r4 R3=1)"], trainable["FLoRA s=0.4 (budget r4 R3=1)"]); // the scale changes no count

        string output = settings.OutputDirectory;
        var rates = LearningRateSearch.FromCsv(Path.Combine(output, "learning_rates.csv"));
        Assert.Equal(plans.Select(p => p.Label).Order(), rates.Select(c => c.Method).Order()); // one search per method and budget
        string markdown = File.ReadAllText(Path.Combine(output, "results.md"));
        Assert.Contains("## By budget", markdown, StringComparison.Ordinal);
        Assert.Contains("| FLoRA s=0.4 (budget r4 R3=1) |", markdown, StringComparison.Ordinal);
        Assert.Contains("FLoRA s=0.4 (budget r4 R3=1) − LoRA (budget r4 R3=1)", markdown, StringComparison.Ordinal);
        Assert.Contains("r4 R3=1: FLoRA rank 4, R3 1, scale 0.4", markdown, StringComparison.Ordinal);
        Assert.True(new FileInfo(Path.Combine(output, Plots.AccuracyVsParametersFileName)).Length > 10_000);
        Assert.True(File.Exists(Path.Combine(output, CompareCheckpoint.SettingsFileName)));

        // The same folder again without --resume is refused, and nothing in it changes.
        string before = File.ReadAllText(Path.Combine(output, "results.csv"));
        var refused = Assert.Throws<InvalidOperationException>(() => CompareRunner.Run(settings, plans, new TestConsole(), data, CPU));
        Assert.Contains("pass --resume", refused.Message, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllText(Path.Combine(output, "results.csv")));

        // --resume with a third seed runs only seed 3, at the rates already chosen (no search: the console shows none).
        var console = new TestConsole();
        console.Profile.Width = 400;
        var resumed = CompareRunner.Run(settings with { Resume = true, Seeds = 3 }, plans, console, data, CPU);
        Assert.Equal(plans.Count * 3, resumed.Count);
        Assert.Equal(runs.Select(r => (r.Method, r.Seed, r.FinalTestAccuracy)), resumed.Take(runs.Count).Select(r => (r.Method, r.Seed, r.FinalTestAccuracy)));
        Assert.All(resumed.Skip(runs.Count), r => Assert.Equal(3, r.Seed));
        Assert.DoesNotContain("learning rate 1e-3", console.Output, StringComparison.Ordinal);
        Assert.Contains($"{runs.Count} finished runs and {plans.Count} learning-rate choices kept", console.Output, StringComparison.Ordinal);
        Assert.Equal(rates.Select(c => (c.Method, c.LearningRate)), LearningRateSearch.FromCsv(Path.Combine(output, "learning_rates.csv")).Select(c => (c.Method, c.LearningRate)));
    }

    [Fact]
    public void Resuming_with_another_schedule_is_refused_naming_the_setting()
    {
        var (settings, data) = Tiny("schedule");
        var plans = CompareCommand.Select(settings.Plans(), new[] { "BitFit" });
        var unclipped = settings with { Seeds = 1, FineTune = settings.FineTune with { ClipNorm = double.PositiveInfinity, WeightDecay = 0 } };
        Assert.Single(CompareRunner.Run(unclipped, plans, new TestConsole(), data, CPU));
        Assert.Contains(unclipped.Describe(), d => d.Key == "schedule" && d.Value.Contains("weight decay 0)", StringComparison.Ordinal) && d.Value.EndsWith("no gradient clipping", StringComparison.Ordinal));

        var other = unclipped with { Resume = true, FineTune = unclipped.FineTune with { ClipNorm = 1 } };
        var error = Assert.Throws<InvalidOperationException>(() => CompareRunner.Run(other, plans, new TestConsole(), data, CPU));
        Assert.Contains("ran with schedule '1 epochs", error.Message, StringComparison.Ordinal);
        Assert.Contains("no gradient clipping', this run has '1 epochs", error.Message, StringComparison.Ordinal);
        Assert.Contains("gradients clipped at 1'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--clip-norm takes a positive number or none (got '0').", "compare", "--clip-norm", "0")]
    [InlineData("--clip-norm takes a positive number or none (got 'off').", "compare", "--clip-norm", "off")]
    [InlineData("--weight-decay must be a number of 0 or more.", "train", "--weight-decay", "-0.1")]
    public void Bad_optimizer_settings_are_parse_errors(string expected, params string[] args) =>
        Assert.Contains(Program.BuildRoot().Parse(args).Errors, e => e.Message == expected);

    [Theory]
    [InlineData("compare", "--clip-norm", "none", "--weight-decay", "0")]
    [InlineData("train", "--clip-norm", "0.5", "--weight-decay", "0.1")]
    public void Optimizer_settings_parse(params string[] args) => Assert.Empty(Program.BuildRoot().Parse(args).Errors);

    [Fact]
    public void A_whole_label_selects_that_method_alone_and_a_word_every_method_containing_it_as_a_word()
    {
        var plans = MethodPlan.Comparison(new[] { FloraBudget.Parse("8:2"), FloraBudget.Parse("8:2:0.4") });
        Assert.Equal(new[] { "LoRA (budget r8 R3=2)" }, CompareCommand.Select(plans, new[] { "lora (budget r8 R3=2)" }).Select(p => p.Label));
        Assert.Equal(new[] { "LoRA (budget r8 R3=2)" }, CompareCommand.Select(plans, new[] { "lora" }).Select(p => p.Label));
        Assert.Equal(new[] { "FLoRA (budget r8 R3=2)", "FLoRA s=0.4 (budget r8 R3=2)" }, CompareCommand.Select(plans, new[] { "flora" }).Select(p => p.Label));
        Assert.Equal(new[] { "AdaLoRA (budget r8 R3=2)" }, CompareCommand.Select(plans, new[] { "AdaLoRA" }).Select(p => p.Label));
        Assert.Equal(new[] { "HAdapter (budget r8 R3=2)", "PAdapter (budget r8 R3=2)" },
            CompareCommand.Select(plans, new[] { "padapter", "hadapter" }).Select(p => p.Label));
    }

    [Fact]
    public void Without_methods_the_comparison_leaves_out_the_opt_in_paper_baselines_and_all_selects_every_method()
    {
        var plans = MethodPlan.Comparison(new[] { FloraBudget.Parse("8:2") });
        Assert.Equal(new[] { "Full fine-tuning", "BitFit", "LoRA (budget r8 R3=2)", "DoRA (budget r8 R3=2)", "FLoRA (budget r8 R3=2)" },
            CompareCommand.Select(plans, Array.Empty<string>()).Select(p => p.Label));
        Assert.Equal(plans.Select(p => p.Label), CompareCommand.Select(plans, new[] { "all" }).Select(p => p.Label));
        Assert.Equal(new[] { "HAdapter (budget r8 R3=2)", "PAdapter (budget r8 R3=2)", "AdaLoRA (budget r8 R3=2)" },
            plans.Where(p => p.IsOptIn).Select(p => p.Label));
    }

    [Fact]
    public void Report_merges_processes_of_a_sweep_with_their_learning_rates()
    {
        var (settings, data) = Tiny("unused");
        var plans = settings.Plans();
        foreach (var label in new[] { "LoRA (budget r4 R3=1)", "FLoRA (budget r4 R3=1)" })
        {
            var one = settings with { OutputDirectory = Path.Combine(_dir, "parts", FineTuneRun.Slug(label)) };
            CompareRunner.Run(one, CompareCommand.Select(plans, new[] { label }), new TestConsole(), data, CPU);
        }
        string merged = Path.Combine(_dir, "merged");
        var (exitCode, output) = ConsoleOutputCollection.RunMain("report",
            Path.Combine(_dir, "parts", "lora-budget-r4-r3-1", "results.csv"), Path.Combine(_dir, "parts", "flora-budget-r4-r3-1", "results.csv"), "--out", merged);

        Assert.True(exitCode == 0, output);
        Assert.Contains("FLoRA (budget r4 R3=1) − LoRA (budget r4 R3=1)", output, StringComparison.Ordinal);
        var rates = LearningRateSearch.FromCsv(Path.Combine(merged, "learning_rates.csv"));
        Assert.Equal(new[] { "LoRA (budget r4 R3=1)", "FLoRA (budget r4 R3=1)" }, rates.Select(c => c.Method));
        string markdown = File.ReadAllText(Path.Combine(merged, "results.md"));
        Assert.Contains("## Learning rates", markdown, StringComparison.Ordinal);
        Assert.Contains("## By budget", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public void Report_lists_the_budgets_whose_difference_needs_more_seeds_for_a_resumed_sweep()
    {
        var runs = new List<RunResult>();
        foreach (var (budget, gap) in new[] { ("r4 R3=1", -0.02), ("r8 R3=2", 0.0005) }) // r4: far apart; r8: within two standard deviations
        {
            for (int seed = 1; seed <= 3; seed++)
            {
                runs.Add(FakeRuns.Run($"LoRA (budget {budget})", seed, 0.93 + 0.002 * seed, MethodKind.Lora, budget));
                runs.Add(FakeRuns.Run($"FLoRA (budget {budget})", seed, 0.93 + 0.002 * seed + gap, MethodKind.Flora, budget));
            }
        }
        string csv = Path.Combine(_dir, "close", "results.csv");
        CsvResultsWriter.Write(csv, runs);
        string report = Path.Combine(_dir, "close-report");

        var (exitCode, output) = ConsoleOutputCollection.RunMain("report", csv, "--out", report);

        Assert.True(exitCode == 0, output);
        Assert.Equal(new[] { "r8 R3=2" }, File.ReadAllLines(Path.Combine(report, CompareRunner.CloseBudgetsFileName)));
        Assert.Contains("Within two standard deviations", output, StringComparison.Ordinal);
        CsvResultsWriter.Write(csv, runs.Where(r => r.Budget == "r4 R3=1").ToList()); // nothing close any more: the list goes
        Assert.Equal(0, ConsoleOutputCollection.RunMain("report", csv, "--out", report).ExitCode);
        Assert.False(File.Exists(Path.Combine(report, CompareRunner.CloseBudgetsFileName)));
    }

    [Fact]
    public void Merged_runs_are_ordered_as_a_comparison_lists_its_methods()
    {
        RunResult Run(string method, MethodKind kind, string? budget, long trainable, int seed = 1) =>
            new(method, kind, budget, seed, trainable, 10_000_000, new[] { 0.9 }, 0.9, new[] { 0.3 }, 1, null);
        var files = new[]
        {
            Run("FLoRA (budget r8 R3=2)", MethodKind.Flora, "r8 R3=2", 106_792, seed: 2), Run("LoRA (budget r4 R3=1)", MethodKind.Lora, "r4 R3=1", 66_762),
            Run("Full fine-tuning", MethodKind.FullFineTuning, null, 10_000_000), Run("LoRA (budget r8 R3=2)", MethodKind.Lora, "r8 R3=2", 117_450),
            Run("FLoRA (budget r8 R3=2)", MethodKind.Flora, "r8 R3=2", 106_792, seed: 1), Run("FLoRA (budget r4 R3=1)", MethodKind.Flora, "r4 R3=1", 59_724),
            Run("BitFit", MethodKind.BitFit, null, 16_778), Run("DoRA (budget r4 R3=1)", MethodKind.Dora, "r4 R3=1", 71_178),
        };
        Assert.Equal(new[]
        {
            "Full fine-tuning 1", "BitFit 1", "LoRA (budget r4 R3=1) 1", "DoRA (budget r4 R3=1) 1", "FLoRA (budget r4 R3=1) 1",
            "LoRA (budget r8 R3=2) 1", "FLoRA (budget r8 R3=2) 1", "FLoRA (budget r8 R3=2) 2",
        }, ReportCommand.ComparisonOrder(files).Select(r => $"{r.Method} {r.Seed}"));
    }

    [Theory]
    [InlineData("compare", "--budgets", "8x2")]
    [InlineData("compare", "--budgets", "8:0")]
    [InlineData("compare", "--budgets", "8:2", "8:2")]
    public void A_bad_budget_is_a_parse_error_that_says_what_to_write(params string[] args)
    {
        var errors = Program.BuildRoot().Parse(args).Errors;
        Assert.Contains(errors, e => e.Message.StartsWith("--budgets:", StringComparison.Ordinal));
    }

    [Fact]
    public void Budgets_and_resume_parse()
    {
        var result = Program.BuildRoot().Parse(new[] { "compare", "--budgets", "4:1", "8:2", "32:2:0.4", "--resume", "--out", "x" });
        Assert.Empty(result.Errors);
    }
}
