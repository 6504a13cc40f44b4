using System.Linq;
using Flora.Generators.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace Flora.Generators.Tests;

/// <summary>
/// The generator never throws, whatever the input (an exception is CS8785 and takes every model's members away while
/// the user is typing), and when the input compiles its output does too.
/// </summary>
public sealed class RobustnessTests
{
    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (string name in RobustnessCorpus.Cases.Keys) data.Add(name);
        return data;
    }

    [Fact]
    public void The_corpus_is_large_and_its_seeds_are_valid()
    {
        Assert.True(RobustnessCorpus.Cases.Count >= 200, $"{RobustnessCorpus.Cases.Count} cases");
        foreach (var (name, source) in RobustnessCorpus.Seeds)
        {
            var run = TestCompiler.Run(source);
            Assert.True(!run.InputErrors.Any(), name + ":\n" + TestCompiler.Format(run.InputErrors));
            Assert.Single(run.Sources);
            run.AssertCompilesCleanly();
        }
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void The_generator_does_not_fail(string name)
    {
        var corpusCase = RobustnessCorpus.Cases[name];
        CSharpCompilation input = TestCompiler.Compile(corpusCase.Sources);
        if (corpusCase.WithoutTorchSharp)
            input = input.RemoveReferences(input.References.Where(r => r.Display?.EndsWith("TorchSharp.dll", System.StringComparison.OrdinalIgnoreCase) == true));

        var run = TestCompiler.Run(input);
        run.AssertGeneratorDidNotFail();
        Assert.All(run.Sources, s => Assert.False(string.IsNullOrWhiteSpace(s.SourceText.ToString())));

        if (!run.InputErrors.Any())
        {
            var added = run.OutputErrors.ToList();
            Assert.True(added.Count == 0, "The input compiles but the output does not:\n" + TestCompiler.Format(added) + "\n" + run.AllSources());
        }
        else
        {
            run.AssertOnlyUserErrors();
        }
    }
}
