using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using System.Linq;
using Flora.Cli.Experiments;
using Flora.Comparison;
using Flora.Reports;
using Spectre.Console;

namespace Flora.Cli.Commands;

/// <summary><c>flora report</c>: rebuilds the table, results.md and plots from one or more results.csv files.</summary>
internal static class ReportCommand
{
    public static Command Create()
    {
        var files = new Argument<string[]>("results") { Description = "results.csv files (several are merged: e.g. a comparison split over several machines or calls)", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--out") { Description = "Where to write results.md, results.csv and the plots", DefaultValueFactory = _ => "report" };
        var notes = new Option<string[]>("--setting") { Description = "A key=value line for the report's settings block (repeatable)", AllowMultipleArgumentsPerToken = false };
        var model = CliOptions.Model();
        var dataset = CliOptions.Dataset();
        var command = new Command("report", "Rebuild the results table, results.md, results.csv and the plots from results.csv files (for interrupted or split runs).")
        {
            files, output, notes, model, dataset,
        };
        command.SetAction(result =>
        {
            var runs = ComparisonOrder(result.GetValue(files)!.SelectMany(path =>
                File.Exists(path) ? CsvResultsReader.Read(path) : throw new FileNotFoundException($"results file '{path}' does not exist.", path)).ToList());
            var settings = (result.GetValue(notes) ?? System.Array.Empty<string>())
                .Select(note => note.Split('=', 2)).Select(kv => new KeyValuePair<string, string>(kv[0], kv.Length > 1 ? kv[1] : "")).ToList();
            var (tableTitle, reportTitle) = CompareSettings.Titles(result.GetValue(model)!, FineTuneDataset.Named(result.GetValue(dataset)!));
            string outDir = result.GetValue(output)!;
            var rates = MergeLearningRates(result.GetValue(files)!, runs);
            CompareRunner.WriteReport(runs, outDir, settings, AnsiConsole.Console, tableTitle, reportTitle,
                rates.Count > 0 ? LearningRateSearch.ToMarkdown(rates, "the validation split of each merged run (the learning_rates.csv beside its results.csv)") : null);
            if (rates.Count > 0) AtomicFile.WriteAllText(Path.Combine(outDir, LearningRateSearch.FileName), LearningRateSearch.ToCsv(rates));
            return 0;
        });
        return command;
    }

    /// <summary>
    /// The learning_rates.csv beside each results file, merged: one choice per method of <paramref name="runs"/>, the
    /// first file's where two disagree (with a warning); empty when there is none.
    /// </summary>
    private static IReadOnlyList<LearningRateChoice> MergeLearningRates(IEnumerable<string> resultFiles, IReadOnlyList<RunResult> runs)
    {
        var methods = runs.Select(r => r.Method).ToHashSet();
        var choices = new List<LearningRateChoice>();
        foreach (string rates in resultFiles.Select(f => Path.Combine(Path.GetDirectoryName(Path.GetFullPath(f))!, LearningRateSearch.FileName)).Distinct().Where(File.Exists))
        {
            foreach (var choice in LearningRateSearch.FromCsv(rates).Where(c => methods.Contains(c.Method)))
            {
                var earlier = choices.FirstOrDefault(c => c.Method == choice.Method);
                if (earlier is null) choices.Add(choice);
                else if (earlier.LearningRate != choice.LearningRate)
                    AnsiConsole.MarkupLine($"[yellow]warning:[/] {Markup.Escape(choice.Method)}: {Markup.Escape(rates)} chose {LearningRateSearch.Format(choice.LearningRate)}, an earlier file {LearningRateSearch.Format(earlier.LearningRate)}; the report keeps the earlier one.");
            }
        }
        return choices;
    }

    /// <summary>
    /// Runs merged from several files in the order a comparison lists its methods: full fine-tuning and BitFit, then each
    /// budget (ascending in FLoRA's trainable count) with LoRA, DoRA and FLoRA; within a method, by seed. Files written by
    /// one process per method would otherwise order the table by file name.
    /// </summary>
    internal static List<RunResult> ComparisonOrder(IReadOnlyList<RunResult> runs)
    {
        var budgetSize = runs.Where(r => r.Budget is not null).GroupBy(r => r.Budget!)
            .ToDictionary(g => g.Key, g => (g.Where(r => r.Kind == MethodKind.Flora).DefaultIfEmpty(g.First()).Min(r => r.TrainableParameters)));
        var firstSeen = runs.Select((r, i) => (r.Method, i)).GroupBy(x => x.Method).ToDictionary(g => g.Key, g => g.Min(x => x.i));
        return runs.OrderBy(r => r.Budget is null ? 0 : 1)
            .ThenBy(r => r.Budget is null ? 0 : budgetSize[r.Budget])
            .ThenBy(r => r.Kind switch { MethodKind.FullFineTuning => 0, MethodKind.BitFit => 1, MethodKind.Lora => 2, MethodKind.Dora => 3, MethodKind.Flora => 4, MethodKind.Houlsby => 5, MethodKind.Pfeiffer => 6, MethodKind.AdaLora => 7, _ => 8 })
            .ThenBy(r => firstSeen[r.Method])
            .ThenBy(r => r.Seed)
            .ToList();
    }
}
