using Flora.Cli.Experiments;
using Flora.Cli.Tests.Commands;

namespace Flora.Cli.Tests.Experiments;

/// <summary>The choice of a learning rate per method on the validation split: the best rate, ties, divergence, the grid's edges.</summary>
public sealed class LearningRateSearchTests
{
    private static readonly double[] Grid = { 1e-4, 1e-3, 1e-2 };

    [Fact]
    public void The_best_validation_accuracy_wins_and_an_inner_rate_is_not_at_the_edge()
    {
        var choice = LearningRateSearch.Choose("LoRA", Grid, new[] { 0.5, 0.8, 0.7 });
        Assert.Equal(1e-3, choice.LearningRate);
        Assert.Equal(0.8, choice.ValidationAccuracy);
        Assert.False(choice.AtGridEdge);
        Assert.Null(choice.EdgeWarning);
    }

    [Fact]
    public void The_smallest_and_the_largest_rate_are_flagged()
    {
        var low = LearningRateSearch.Choose("BitFit", Grid, new[] { 0.9, 0.8, 0.7 });
        Assert.True(low.AtGridEdge);
        Assert.Contains("smallest", low.EdgeWarning);
        Assert.Contains("below", low.EdgeWarning);
        var high = LearningRateSearch.Choose("FLoRA", Grid, new[] { 0.1, 0.2, 0.3 });
        Assert.Equal(1e-2, high.LearningRate);
        Assert.True(high.AtGridEdge);
        Assert.Contains("largest", high.EdgeWarning);
    }

    [Fact]
    public void A_grid_of_one_rate_has_no_edge()
    {
        var choice = LearningRateSearch.Choose("DoRA", new[] { 1e-3 }, new[] { 0.4 });
        Assert.Equal(1e-3, choice.LearningRate);
        Assert.False(choice.AtGridEdge);
    }

    [Fact]
    public void An_unsorted_grid_is_sorted_first_and_a_tie_goes_to_the_smaller_rate()
    {
        var choice = LearningRateSearch.Choose("LoRA", new[] { 1e-2, 1e-4, 1e-3 }, new[] { 0.6, 0.5, 0.6 });
        Assert.Equal(new[] { 1e-4, 1e-3, 1e-2 }, choice.Grid);
        Assert.Equal(new[] { 0.5, 0.6, 0.6 }, choice.ValidationAccuracies);
        Assert.Equal(1e-3, choice.LearningRate);
        Assert.False(choice.AtGridEdge);
    }

    [Fact]
    public void Diverged_rates_are_skipped_and_all_diverged_throws()
    {
        var choice = LearningRateSearch.Choose("Full fine-tuning", Grid, new[] { 0.3, double.NaN, double.NaN });
        Assert.Equal(1e-4, choice.LearningRate);
        Assert.True(choice.AtGridEdge);
        Assert.Throws<ArgumentException>(() => LearningRateSearch.Choose("x", Grid, new[] { double.NaN, double.NaN, double.NaN }));
        Assert.Throws<ArgumentException>(() => LearningRateSearch.Choose("x", Grid, new[] { 0.1, 0.2 }));
    }

    [Fact]
    public void The_default_grid_is_seven_rates_log_spaced_from_1e4_to_1e1()
    {
        var grid = LearningRateSearch.DefaultGrid;
        Assert.Equal(7, grid.Count);
        Assert.Equal(1e-4, grid[0], 12);
        Assert.Equal(1e-3, grid[2], 12);
        Assert.Equal(1e-2, grid[4], 12);
        Assert.Equal(1e-1, grid[6], 12);
        Assert.Equal(Math.Sqrt(10) * 1e-4, grid[1], 12);
    }

    [Fact]
    public void The_validation_split_is_class_balanced_and_disjoint_from_the_rest()
    {
        var train = CompareSmokeTests.Tiny("fashion", 10, 4);
        var (fit, validation) = LearningRateSearch.Split(train, 7);
        Assert.All(validation.CountPerClass(), c => Assert.Equal(2, c));
        Assert.All(fit.CountPerClass(), c => Assert.Equal(8, c));
        Assert.Throws<ArgumentException>(() => LearningRateSearch.Split(CompareSmokeTests.Tiny("one", 1, 4), 7));
    }

    [Fact]
    public void The_csv_has_a_row_per_rate_and_marks_the_chosen_one()
    {
        var csv = LearningRateSearch.ToCsv(new[] { LearningRateSearch.Choose("FLoRA (budget A)", Grid, new[] { 0.1, 0.2, 0.3 }) });
        var lines = csv.TrimEnd('\n').Split('\n');
        Assert.Equal("method,learning_rate,validation_accuracy,chosen,at_grid_edge", lines[0]);
        Assert.Equal(4, lines.Length);
        Assert.Equal("FLoRA (budget A),0.01,0.3,true,true", lines[3]);
        Assert.EndsWith("false,false", lines[1]);
    }

    [Fact]
    public void A_learning_rates_csv_reads_back_to_the_same_choices()
    {
        var choices = new[]
        {
            LearningRateSearch.Choose("FLoRA (budget A)", new[] { 1e-4, 1e-3, 1e-2 }, new[] { 0.5, 0.7, double.NaN }),
            LearningRateSearch.Choose("LoRA, with a comma", new[] { 1e-4, 1e-3, 1e-2 }, new[] { 0.2, 0.3, 0.4 }),
        };
        string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"rates-{Guid.NewGuid():N}.csv");
        try
        {
            System.IO.File.WriteAllText(path, LearningRateSearch.ToCsv(choices));
            var read = LearningRateSearch.FromCsv(path);
            Assert.Equal(choices.Select(c => (c.Method, c.LearningRate, c.Index, c.AtGridEdge)), read.Select(c => (c.Method, c.LearningRate, c.Index, c.AtGridEdge)));
            Assert.True(double.IsNaN(read[0].ValidationAccuracies[2]));
            System.IO.File.WriteAllText(path, "method,rate\nx,1\n");
            Assert.Throws<System.IO.InvalidDataException>(() => LearningRateSearch.FromCsv(path));
        }
        finally
        {
            System.IO.File.Delete(path);
        }
    }

    [Fact]
    public void Settings_with_an_earlier_runs_rates_describe_that_file_and_not_the_default_grid()
    {
        var searched = new CompareSettings { Model = FineTuneModel.ResNet18Name };
        Assert.Contains(searched.Describe(), d => d.Key == "learning rates" && d.Value.Contains("from 1e-4", StringComparison.Ordinal));

        var reused = searched with { LearningRatesFile = "/runs/search/learning_rates.csv" };
        var line = Assert.Single(reused.Describe(), d => d.Key == "learning rates").Value;
        Assert.Contains("earlier run's search", line);
        Assert.Contains("learning_rates.csv", line);
        Assert.DoesNotContain("1e-4", line);
    }
}
