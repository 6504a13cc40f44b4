using System;
using System.IO;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using Flora.Data;
using Flora.Reports;

namespace Flora.Cli.Experiments;

/// <summary>A method's learning rate as the validation split chose it.</summary>
/// <param name="Method">The method's label.</param>
/// <param name="Grid">The rates tried, ascending.</param>
/// <param name="ValidationAccuracies">The validation accuracy at each rate of <paramref name="Grid"/>; NaN where the training diverged.</param>
/// <param name="Index">The position of the chosen rate in <paramref name="Grid"/>.</param>
internal sealed record LearningRateChoice(string Method, IReadOnlyList<double> Grid, IReadOnlyList<double> ValidationAccuracies, int Index)
{
    /// <summary>The chosen rate.</summary>
    public double LearningRate => Grid[Index];

    /// <summary>Its validation accuracy.</summary>
    public double ValidationAccuracy => ValidationAccuracies[Index];

    /// <summary>Whether the chosen rate is the grid's smallest or largest (of two or more): the best rate may lie outside the grid.</summary>
    public bool AtGridEdge => Grid.Count > 1 && (Index == 0 || Index == Grid.Count - 1);

    /// <summary>A warning when <see cref="AtGridEdge"/>, else null.</summary>
    public string? EdgeWarning => !AtGridEdge ? null :
        $"{Method}: the best learning rate {LearningRateSearch.Format(LearningRate)} is the {(Index == 0 ? "smallest" : "largest")} of the grid; the best rate may lie {(Index == 0 ? "below" : "above")} it (widen --lr-grid).";
}

/// <summary>
/// Chooses each method's learning rate on a validation split taken from the training images: every rate of one grid
/// trains the method once (the first seed) on the rest of the training images, and the best validation accuracy wins.
/// </summary>
internal static class LearningRateSearch
{
    /// <summary>The file a comparison writes its choices to, beside results.csv (<see cref="ToCsv"/>).</summary>
    public const string FileName = "learning_rates.csv";

    /// <summary>The default grid: 5 rates log-spaced from 1e-4 to 1e-2.</summary>
    public static IReadOnlyList<double> DefaultGrid { get; } = LogSpaced(1e-4, 1e-1, 7);

    /// <summary><paramref name="count"/> rates from <paramref name="low"/> to <paramref name="high"/>, evenly spaced in log scale.</summary>
    public static IReadOnlyList<double> LogSpaced(double low, double high, int count)
    {
        if (!(low > 0) || !(high >= low) || count < 1) throw new ArgumentException($"a log-spaced grid needs 0 < low ≤ high and a count ≥ 1 (got {low}, {high}, {count})");
        if (count == 1) return new[] { low };
        return Enumerable.Range(0, count).Select(i => Math.Exp(Math.Log(low) + (Math.Log(high) - Math.Log(low)) * i / (count - 1))).ToArray();
    }

    /// <summary>
    /// The rate of <paramref name="grid"/> with the best of <paramref name="accuracies"/> (NaN = diverged; a tie goes to
    /// the smaller rate). The grid is sorted ascending first.
    /// </summary>
    /// <exception cref="ArgumentException">The lists are empty or differ in length, or every rate diverged.</exception>
    public static LearningRateChoice Choose(string method, IReadOnlyList<double> grid, IReadOnlyList<double> accuracies)
    {
        ArgumentNullException.ThrowIfNull(grid);
        ArgumentNullException.ThrowIfNull(accuracies);
        if (grid.Count == 0 || grid.Count != accuracies.Count)
            throw new ArgumentException($"{method}: {grid.Count} rates but {accuracies.Count} accuracies");
        var order = Enumerable.Range(0, grid.Count).OrderBy(i => grid[i]).ToArray();
        var sortedGrid = order.Select(i => grid[i]).ToArray();
        var sortedAccuracies = order.Select(i => accuracies[i]).ToArray();
        int best = -1;
        for (int i = 0; i < sortedGrid.Length; i++)
        {
            if (double.IsNaN(sortedAccuracies[i])) continue;
            if (best < 0 || sortedAccuracies[i] > sortedAccuracies[best]) best = i;
        }
        if (best < 0) throw new ArgumentException($"{method}: the training diverged at every learning rate of the grid ({string.Join(", ", sortedGrid.Select(Format))}): lower --lr-grid");
        return new LearningRateChoice(method, sortedGrid, sortedAccuracies, best);
    }

    /// <summary>
    /// Splits <paramref name="train"/> into a training part and a class-balanced validation part of a fifth of the
    /// smallest class (at least one image per class).
    /// </summary>
    public static (ImageDataset Train, ImageDataset Validation) Split(ImageDataset train, int seed)
    {
        ArgumentNullException.ThrowIfNull(train);
        int perClass = train.CountPerClass().Where(c => c > 0).DefaultIfEmpty(0).Min();
        if (perClass < 2) throw new ArgumentException($"choosing learning rates needs at least 2 training images per class (got {perClass})");
        int validation = Math.Max(1, perClass / 5);
        return train.SplitStratified(perClass - validation, validation, seed, $"{train.Name} (learning-rate training part)", $"{train.Name} (validation part)");
    }

    /// <summary>learning_rates.csv: one row per method and rate tried, the chosen one marked.</summary>
    public static string ToCsv(IEnumerable<LearningRateChoice> choices)
    {
        var text = new StringBuilder("method,learning_rate,validation_accuracy,chosen,at_grid_edge\n");
        foreach (var choice in choices)
        {
            for (int i = 0; i < choice.Grid.Count; i++)
            {
                bool chosen = i == choice.Index;
                text.Append(CsvResultsWriter.Quote(choice.Method)).Append(',').Append(choice.Grid[i].ToString("R", CultureInfo.InvariantCulture)).Append(',')
                    .Append(double.IsNaN(choice.ValidationAccuracies[i]) ? "" : choice.ValidationAccuracies[i].ToString("R", CultureInfo.InvariantCulture)).Append(',')
                    .Append(chosen ? "true" : "false").Append(',').Append(chosen && choice.AtGridEdge ? "true" : "false").Append('\n');
            }
        }
        return text.ToString();
    }

    /// <summary>
    /// The choices a learning_rates.csv written by <see cref="ToCsv"/> holds (an earlier run's search, reused by
    /// <c>flora compare --learning-rates</c> so that a comparison split over several runs trains every seed at the same rates).
    /// </summary>
    public static IReadOnlyList<LearningRateChoice> FromCsv(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"learning-rate file '{path}' does not exist: pass the learning_rates.csv of an earlier `flora compare`.", path);
        var rows = CsvResultsReader.Parse(File.ReadAllText(path), path);
        if (rows.Count == 0 || string.Join(",", rows[0]) != "method,learning_rate,validation_accuracy,chosen,at_grid_edge")
            throw new InvalidDataException($"'{path}' is not a learning_rates.csv (its header should be method,learning_rate,validation_accuracy,chosen,at_grid_edge).");
        var choices = new List<LearningRateChoice>();
        foreach (var group in rows.Skip(1).Where(r => r.Count == 5).GroupBy(r => r[0]))
        {
            var tried = group.ToList();
            var grid = tried.Select(r => double.Parse(r[1], CultureInfo.InvariantCulture)).ToList();
            var accuracies = tried.Select(r => r[2].Length == 0 ? double.NaN : double.Parse(r[2], CultureInfo.InvariantCulture)).ToList();
            int index = tried.FindIndex(r => r[3] == "true");
            if (index < 0) throw new InvalidDataException($"'{path}': method '{group.Key}' has no chosen rate.");
            choices.Add(new LearningRateChoice(group.Key, grid, accuracies, index));
        }
        return choices;
    }

    /// <summary>The markdown section of results.md: the chosen rate per method.</summary>
    public static string ToMarkdown(IReadOnlyList<LearningRateChoice> choices, string validation)
    {
        var text = new StringBuilder("\n## Learning rates\n\n");
        text.Append("Chosen per method on ").Append(validation).Append(" (the first seed, the best validation accuracy; a tie goes to the smaller rate). ")
            .Append("The seeds above then trained on all training images at these rates.\n\n");
        string[] header = ["Method", "Chosen rate", "Validation accuracy", "Rates tried (validation accuracy)"];
        var rows = choices.Select(choice => new[]
        {
            choice.Method,
            Format(choice.LearningRate) + (choice.AtGridEdge ? " ⚠ grid edge" : ""),
            choice.ValidationAccuracy.ToString("P1", CultureInfo.InvariantCulture),
            string.Join(", ", choice.Grid.Select((rate, i) => $"{Format(rate)} ({(double.IsNaN(choice.ValidationAccuracies[i]) ? "diverged" : choice.ValidationAccuracies[i].ToString("P1", CultureInfo.InvariantCulture))})")),
        }).ToArray();
        text.Append(new TextTable(header, rows, new bool[header.Length]).ToMarkdown());
        return text.ToString();
    }

    /// <summary>A rate for people: 3 significant digits, e.g. 0.000316 → "3.16e-4".</summary>
    public static string Format(double rate) => rate.ToString("0.##e0", CultureInfo.InvariantCulture);

}
