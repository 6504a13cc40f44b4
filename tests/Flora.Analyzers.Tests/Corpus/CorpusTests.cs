using System.Text;
using Microsoft.CodeAnalysis.CSharp;

namespace Flora.Analyzers.Tests.Corpus;

/// <summary>
/// Robustness: several hundred generated and hand-written inputs, valid and odd, through every Flora analyzer with
/// <see cref="CompilationWithAnalyzers"/>. No analyzer may throw (AD0001) on any input; an input built as correct Flora code
/// must compile without errors and raise no Flora warning or error (information, such as FLORA013, may describe it).
/// </summary>
public sealed class CorpusTests
{
    private const int Seed = 20_260_611;
    private const int ValidModels = 90;
    private const int Truncations = 70;
    private const int Mutations = 50;

    /// <summary>The whole corpus, built once from fixed seeds.</summary>
    private static readonly Lazy<IReadOnlyList<CorpusInput>> s_corpus = new(Build);

    internal static IReadOnlyList<CorpusInput> Corpus => s_corpus.Value;

    private static IReadOnlyList<CorpusInput> Build()
    {
        var inputs = new List<CorpusInput>();
        var generator = new ValidModelGenerator(Seed);
        for (int i = 0; i < ValidModels; i++) inputs.Add(new($"valid model #{i}", generator.Next(i), true));
        inputs.Add(new("end-to-end models", ValidModelsTests.EndToEndModels, true));

        // Truncations of valid models at fixed-seed positions: every kind of unfinished declaration.
        var random = new Random(Seed + 1);
        var bases = inputs.Where(i => i.Valid).ToList();
        for (int i = 0; i < Truncations; i++)
        {
            var source = bases[random.Next(bases.Count)].Source;
            int at = random.Next(source.Length);
            inputs.Add(new($"truncated #{i} at {at}", source.Substring(0, at), false));
        }

        // Mutations of valid models: a character deleted, a token doubled, a line dropped, a number changed, a line swapped.
        for (int i = 0; i < Mutations; i++)
        {
            var source = bases[random.Next(bases.Count)].Source;
            inputs.Add(new($"mutated #{i}", Mutate(source, random), false));
        }

        inputs.AddRange(OddInputs.Placements());
        inputs.AddRange(OddInputs.WrongArgumentTypes());
        inputs.AddRange(OddInputs.TypeKinds());
        inputs.AddRange(OddInputs.ConstantsOutOfRange());
        inputs.AddRange(OddInputs.UnresolvedNames());
        inputs.AddRange(OddInputs.ModulesToSaveAndLora());
        return inputs;
    }

    private static string Mutate(string source, Random random)
    {
        var lines = source.Split('\n').ToList();
        int line = random.Next(lines.Count);
        switch (random.Next(5))
        {
            case 0: // delete one character
                int at = random.Next(source.Length);
                return source.Remove(at, 1);
            case 1: // double a token-sized piece
                int start = random.Next(source.Length), length = Math.Min(1 + random.Next(12), source.Length - start);
                return source.Insert(start, source.Substring(start, length));
            case 2: // drop a line
                lines.RemoveAt(line);
                return string.Join('\n', lines);
            case 3: // change every number on a line: 0, negative, huge
                string replacement = random.Next(3) switch { 0 => "0", 1 => "-7", _ => "2147483647" };
                lines[line] = System.Text.RegularExpressions.Regex.Replace(lines[line], "[0-9]+", replacement);
                return string.Join('\n', lines);
            default: // swap two lines
                int other = random.Next(lines.Count);
                (lines[line], lines[other]) = (lines[other], lines[line]);
                return string.Join('\n', lines);
        }
    }

    [Fact]
    public void The_corpus_has_at_least_200_inputs_of_every_kind()
    {
        Assert.True(Corpus.Count >= 200, $"only {Corpus.Count} inputs");
        Assert.True(Corpus.Count(i => i.Valid) >= 100, "at least 100 valid inputs");
        Assert.Equal(Corpus.Count, Corpus.Select(i => i.Name).Distinct().Count());
    }

    [Fact]
    public async Task No_analyzer_throws_on_any_input()
    {
        var failures = new StringBuilder();
        foreach (var result in await Results.Value)
        {
            foreach (var d in result.All.Where(d => d.Id == "AD0001"))
                failures.Append(result.Input.Name).Append(": ").Append(d.GetMessage(System.Globalization.CultureInfo.InvariantCulture)).Append("\n\n");
        }
        Assert.True(failures.Length == 0, "Analyzer exceptions (AD0001):\n" + failures);
    }

    [Fact]
    public async Task Valid_inputs_compile_and_raise_no_Flora_warning_or_error()
    {
        var failures = new StringBuilder();
        foreach (var result in (await Results.Value).Where(r => r.Input.Valid))
        {
            // Information (FLORA013: why a constant count is left out) describes correct code; warnings and errors may not.
            var flora = result.All.Where(d => d.Id.StartsWith("FLORA", StringComparison.Ordinal) && d.Severity > DiagnosticSeverity.Info || d.Id == "AD0001").ToList();
            if (result.Errors.Length == 0 && flora.Count == 0) continue;
            failures.Append("== ").Append(result.Input.Name).Append('\n');
            foreach (var d in result.Errors.Concat(flora)) failures.Append(d).Append('\n');
            failures.Append(result.Input.Source).Append("\n\n");
        }
        Assert.True(failures.Length == 0, "Valid inputs with errors or Flora diagnostics:\n" + failures);
    }

    private sealed record CorpusResult(CorpusInput Input, ImmutableArray<Diagnostic> Errors, ImmutableArray<Diagnostic> All);

    /// <summary>Each input compiled and analysed once (in parallel), shared by the tests above.</summary>
    private static readonly Lazy<Task<CorpusResult[]>> Results = new(async () =>
    {
        var results = new CorpusResult[Corpus.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, Corpus.Count), async (i, _) =>
        {
            var (compilation, all) = await AnalyzeAsync(Corpus[i]);
            var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToImmutableArray();
            results[i] = new CorpusResult(Corpus[i], errors, all);
        });
        return results;
    });

    /// <summary>Every analyzer at once, with empty analyzer options (no .editorconfig, no MSBuild properties): none may throw.</summary>
    internal static async Task<(CSharpCompilation Compilation, ImmutableArray<Diagnostic> All)> AnalyzeAsync(CorpusInput input)
    {
        var compilation = TestReferences.Compile(input.Source);
        var options = new CompilationWithAnalyzersOptions(
            new AnalyzerOptions(ImmutableArray<AdditionalText>.Empty), onAnalyzerException: null, concurrentAnalysis: true, logAnalyzerExecutionTime: false);
        var withAnalyzers = compilation.WithAnalyzers(VerifyAll.Analyzers, options);
        _ = await withAnalyzers.GetAnalyzerDiagnosticsAsync();
        var all = await withAnalyzers.GetAllDiagnosticsAsync();
        return (compilation, all);
    }
}
