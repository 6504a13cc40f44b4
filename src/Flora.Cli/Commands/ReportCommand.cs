using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using System.Linq;
using Flora.Cli.Experiments;
using Flora.Cli.Reports;
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
            var runs = result.GetValue(files)!.SelectMany(path =>
                File.Exists(path) ? CsvResultsReader.Read(path) : throw new FileNotFoundException($"results file '{path}' does not exist.", path)).ToList();
            var settings = (result.GetValue(notes) ?? System.Array.Empty<string>())
                .Select(note => note.Split('=', 2)).Select(kv => new KeyValuePair<string, string>(kv[0], kv.Length > 1 ? kv[1] : "")).ToList();
            var titles = new CompareSettings { Model = result.GetValue(model)!, Dataset = FineTuneDataset.Named(result.GetValue(dataset)!) };
            CompareRunner.WriteReport(runs, result.GetValue(output)!, settings, AnsiConsole.Console, titles.TableTitle, titles.ReportTitle);
            return 0;
        });
        return command;
    }
}
