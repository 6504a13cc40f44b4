using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using Flora.Generators.Model;
using Flora.Generators.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;
using static Flora.Generators.Tests.Infrastructure.TestCompiler;

namespace Flora.Generators.Tests;

/// <summary>
/// Transfer learning in generated code: <c>[FloraModuleToSave]</c> members, LoRA at a chosen rank, <c>SaveNormLayers</c>,
/// <c>DisableFlora()</c>, and models built of annotated blocks (members and module lists of annotated models).
/// </summary>
public sealed class TransferLearningTests
{
    private const string TransferModel = Usings + """
        namespace Demo;

        [FloraModel(Rank = 4, R3 = 2, LoraRank = 16, LoraAlpha = 32)]
        public partial class Classifier : Module<Tensor, Tensor>
        {
            [FloraTarget] private readonly Conv2d conv1 = Conv2d(3, 16, 3, padding: 1);
            [FloraTarget(LoraRank = 2, LoraAlpha = 4)] private readonly Conv2d conv2 = Conv2d(16, 32, 3, padding: 1);
            [FloraModuleToSave] private readonly BatchNorm2d bn = BatchNorm2d(32);
            [FloraModuleToSave] private readonly Linear head = Linear(32, 10);

            public Classifier() : base(nameof(Classifier)) => RegisterComponents();

            public override Tensor forward(Tensor x)
            {
                var h = functional.relu(conv1.call(x));
                h = functional.relu(bn.call(conv2.call(h)));
                return head.call(h.mean(new long[] { 2, 3 }));
            }
        }
        """;

    private const string NestedModel = Usings + """
        using TorchSharp.Utils;
        namespace Demo;

        [FloraModel]
        public sealed partial class Projection : Module<Tensor, Tensor>
        {
            [ComponentName(Name = "0")] [FloraTarget] private readonly Conv2d conv;
            [ComponentName(Name = "1")] private readonly BatchNorm2d bn;
            public Projection(long inChannels, long outChannels) : base(nameof(Projection))
            {
                conv = Conv2d(inChannels, outChannels, 1, stride: 2, bias: false);
                bn = BatchNorm2d(outChannels);
                RegisterComponents();
            }
            public override Tensor forward(Tensor x) => bn.call(conv.call(x));
        }

        [FloraModel]
        public sealed partial class Block : Module<Tensor, Tensor>
        {
            [FloraTarget] private readonly Conv2d conv1;
            [FloraTarget] private readonly Conv2d conv2;
            private readonly Projection? downsample;
            public Block(long inChannels, long outChannels, long stride) : base(nameof(Block))
            {
                conv1 = Conv2d(inChannels, outChannels, 3, stride: stride, padding: 1, bias: false);
                conv2 = Conv2d(outChannels, outChannels, 3, padding: 1, bias: false);
                downsample = stride == 1 ? null : new Projection(inChannels, outChannels);
                RegisterComponents();
            }
            public override Tensor forward(Tensor x) => conv2.call(conv1.call(x));
        }

        [FloraModel(Rank = 4, R3 = 2, SaveNormLayers = true)]
        public sealed partial class Net : Module<Tensor, Tensor>
        {
            private readonly Conv2d stem = Conv2d(3, 8, 3, padding: 1);
            private readonly ModuleList<Block> layer1 = ModuleList(new Block(8, 8, 1), new Block(8, 16, 2));
            private readonly Block last = new Block(16, 16, 1);
            [FloraModuleToSave] private readonly Linear fc = Linear(16, 10);
            public Net() : base(nameof(Net)) => RegisterComponents();
            public override Tensor forward(Tensor x) => fc.call(last.call(stem.call(x)).mean(new long[] { 2, 3 }));
        }
        """;

    [Fact]
    public void Modules_to_save_and_chosen_LoRA_ranks_are_emitted() => Verify(Run(TransferModel), "Demo.Classifier.Flora.g.cs");

    [Fact]
    public void A_model_of_annotated_blocks_lists_them_as_nested_parts() => Verify(Run(NestedModel), "Demo.Net.Flora.g.cs");

    [Fact]
    public void Nested_parts_are_members_typed_as_annotated_models_or_module_lists_of_them()
    {
        var run = Run(NestedModel);
        string net = run.Sources.Single(s => s.HintName == "Demo.Net.Flora.g.cs").SourceText.ToString();
        Assert.Contains("parts.Nested(this, \"layer1\", this.layer1);", net);
        Assert.Contains("parts.Nested(this, \"last\", this.last);", net);
        Assert.DoesNotContain("\"stem\"", net); // not annotated, not a model
        Assert.DoesNotContain("FloraTrainableParameters =", net); // nested models leave the count to run time
        string block = run.Sources.Single(s => s.HintName == "Demo.Block.Flora.g.cs").SourceText.ToString();
        Assert.Contains("parts.Nested(this, \"downsample\", this.downsample);", block);
        Assert.Contains("Demo.Projection.Flora.g.cs", run.Sources.Select(s => s.HintName));
    }

    [Fact]
    public void A_model_with_only_modules_to_save_gets_its_members()
    {
        var run = Run(Usings + """
            public partial class Probe : Module<Tensor, Tensor>
            {
                private readonly Linear body = Linear(8, 8);
                [FloraModuleToSave] private readonly Linear head = Linear(8, 2);
                public Probe() : base(nameof(Probe)) => RegisterComponents();
                public override Tensor forward(Tensor x) => head.call(body.call(x));
            }
            """);
        string text = run.SingleSource();
        Assert.Contains("parts.ModuleToSave(this, \"head\", this.head);", text);
        Assert.Contains("public global::System.IDisposable DisableFlora()", text);
        run.AssertCompilesCleanly();
    }

    [Fact]
    public void A_module_to_save_that_cannot_be_one_gets_no_part_and_the_model_still_compiles()
    {
        // FLORA011 reports these; the generator leaves them out.
        var run = Run(Usings + """
            public partial class Odd : Module<Tensor, Tensor>
            {
                [FloraTarget] [FloraModuleToSave] private readonly Linear both = Linear(8, 8);
                [FloraModuleToSave] private readonly int notAModule = 3;
                [FloraModuleToSave] private static readonly Linear shared = Linear(8, 8);
                public Odd() : base(nameof(Odd)) => RegisterComponents();
                public override Tensor forward(Tensor x) => both.call(x) * notAModule;
            }
            """);
        string text = run.SingleSource();
        Assert.DoesNotContain("parts.ModuleToSave", text);
        Assert.Contains("parts.Target(this, \"both\"", text);
        run.AssertCompilesCleanly();
    }

    [Fact]
    public void A_model_derived_from_one_with_only_modules_to_save_hides_its_generated_members()
    {
        var run = Run(Usings + """
            public partial class Probe : Module<Tensor, Tensor>
            {
                [FloraModuleToSave] protected readonly Linear head = Linear(8, 2);
                public Probe() : base(nameof(Probe)) => RegisterComponents();
                public override Tensor forward(Tensor x) => head.call(x);
            }

            public partial class WiderProbe : Probe
            {
                [FloraTarget] private readonly Linear body = Linear(8, 8);
                public WiderProbe() => RegisterComponents();
                public override Tensor forward(Tensor x) => head.call(body.call(x));
            }
            """);
        Assert.Equal(2, run.Sources.Length);
        Assert.Contains("public new FloraAdapters AttachFlora()", run.Sources.Single(s => s.HintName == "WiderProbe.Flora.g.cs").SourceText.ToString());
        run.AssertCompilesCleanly();
    }

    [Fact]
    public void Editing_a_method_body_caches_every_step_of_a_model_with_modules_to_save()
    {
        var compilation = Compile(TransferModel);
        var edited = compilation.ReplaceSyntaxTree(compilation.SyntaxTrees.First(),
            Parse(TransferModel.Replace("var h = functional.relu(conv1.call(x));", "var h = functional.gelu(conv1.call(x));"), "Model.cs"));
        var driver = CreateDriver(trackSteps: true).RunGenerators(compilation);
        var second = driver.RunGenerators(edited).GetRunResult().Results[0];
        foreach (string step in new[] { FloraStepNames.Targets, FloraStepNames.ModulesToSave, FloraStepNames.ModelTypes, FloraStepNames.Models })
        {
            var reasons = second.TrackedSteps[step].SelectMany(s => s.Outputs).Select(o => o.Reason).ToList();
            Assert.NotEmpty(reasons);
            Assert.True(reasons.All(r => r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged), $"{step}: {string.Join(", ", reasons)}");
        }
    }

    [Fact]
    public void Marking_a_module_to_save_modifies_the_model()
    {
        var compilation = Compile(TransferModel);
        var edited = compilation.ReplaceSyntaxTree(compilation.SyntaxTrees.First(),
            Parse(TransferModel.Replace("[FloraModuleToSave] private readonly BatchNorm2d bn", "private readonly BatchNorm2d bn"), "Model.cs"));
        var driver = CreateDriver(trackSteps: true).RunGenerators(compilation);
        var second = driver.RunGenerators(edited).GetRunResult().Results[0];
        var models = second.TrackedSteps[FloraStepNames.Models].SelectMany(s => s.Outputs).ToList();
        Assert.Contains(models, o => o.Reason == IncrementalStepRunReason.Modified);
        var spec = (ModelSpec)models.Single().Value;
        Assert.Equal(new[] { "head" }, spec.ModulesToSave.Select(m => m.MemberName));
    }

    private static void Verify(GeneratorRun run, string hintName, [CallerFilePath] string file = "", [CallerMemberName] string name = "")
    {
        Assert.Empty(run.InputErrors);
        run.AssertCompilesCleanly();
        Snapshots.Verify(run.Sources.Single(s => s.HintName == hintName).SourceText.ToString(), file, name);
    }
}
