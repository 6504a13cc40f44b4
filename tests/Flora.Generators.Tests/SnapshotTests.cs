using System.Runtime.CompilerServices;
using Flora.Generators.Tests.Infrastructure;
using Xunit;
using static Flora.Generators.Tests.Infrastructure.TestCompiler;

namespace Flora.Generators.Tests;

/// <summary>
/// The generated file of representative models, compared with <c>Snapshots/SnapshotTests.*.verified.cs</c>. Every output
/// must also compile without a single error or warning (users build with warnings as errors).
/// </summary>
public sealed class SnapshotTests
{
    [Fact]
    public void SmallCnn() => VerifyModel(Usings + """
        namespace Demo;

        [FloraModel(Rank = 8, R3 = 2, Scale = 0.4, MaxTrainableParameters = 200_000)]
        public partial class SmallCnn : Module<Tensor, Tensor>
        {
            [FloraTarget(Rank = 16, R3 = 2)] private readonly Conv2d conv1 = Conv2d(1, 32, 3, padding: 1);
            [FloraTarget]                    private readonly Conv2d conv2 = Conv2d(32, 64, 3, padding: 1);
            [FloraTarget(Rank = 4)]          private readonly Linear head  = Linear(64, 10);
            private readonly BatchNorm2d bn = BatchNorm2d(32);

            public SmallCnn() : base(nameof(SmallCnn)) => RegisterComponents();

            public override Tensor forward(Tensor x)
            {
                var h = functional.relu(bn.call(conv1.call(x)));
                h = functional.relu(conv2.call(h));
                return head.call(h.mean(new long[] { 2, 3 }));
            }
        }
        """, "Demo.SmallCnn.Flora.g.cs");

    [Fact]
    public void MultiheadAttention() => VerifyModel(Usings + """
        namespace Demo;

        [FloraModel(Rank = 4)]
        public partial class CrossAttention : Module<Tensor, Tensor, Tensor>
        {
            [FloraTarget(OutRank = 6)] private readonly MultiheadAttention self = MultiheadAttention(16, 4, add_bias_kv: true);
            [FloraTarget(Rank = 2)] public MultiheadAttention Cross { get; } = MultiheadAttention(16, 2, bias: false);

            public CrossAttention() : base(nameof(CrossAttention)) => RegisterComponents();

            public override Tensor forward(Tensor queries, Tensor memory)
            {
                var h = self.call(queries, queries, queries, null, false, null).Item1;
                return Cross.call(h, memory, memory, null, false, null).Item1;
            }
        }
        """, "Demo.CrossAttention.Flora.g.cs");

    [Fact]
    public void DefaultsWithoutFloraModel() => VerifyModel(Usings + """
        namespace Demo;

        public partial class Mlp : Module<Tensor, Tensor>
        {
            [FloraTarget] private readonly Linear fc1 = Linear(32, 64);
            [FloraTarget] private readonly Linear fc2 = Linear(64, 10);

            public Mlp() : base(nameof(Mlp)) => RegisterComponents();

            public override Tensor forward(Tensor x) => fc2.call(functional.relu(fc1.call(x)));
        }
        """, "Demo.Mlp.Flora.g.cs");

    [Fact]
    public void FileScopedNamespace() => VerifyModel(Usings + """
        namespace Company.Product.Models;

        public partial class Encoder : Module<Tensor, Tensor>
        {
            [FloraTarget(Rank = 4)] private readonly Conv1d conv = Conv1d(16, 32, 5, padding: 2);

            public Encoder() : base(nameof(Encoder)) => RegisterComponents();

            public override Tensor forward(Tensor x) => conv.call(x);
        }
        """, "Company.Product.Models.Encoder.Flora.g.cs");

    [Fact]
    public void BlockNamespace() => VerifyModel(Usings + """
        namespace Company
        {
            namespace Product.Models
            {
                public partial class Decoder : Module<Tensor, Tensor>
                {
                    [FloraTarget] private readonly Linear proj = Linear(32, 16);

                    public Decoder() : base(nameof(Decoder)) => RegisterComponents();

                    public override Tensor forward(Tensor x) => proj.call(x);
                }
            }
        }
        """, "Company.Product.Models.Decoder.Flora.g.cs");

    [Fact]
    public void GlobalNamespace() => VerifyModel(Usings + """
        public partial class GlobalModel : Module<Tensor, Tensor>
        {
            [FloraTarget] private readonly Linear fc = Linear(10, 10);

            public GlobalModel() : base(nameof(GlobalModel)) => RegisterComponents();

            public override Tensor forward(Tensor x) => fc.call(x);
        }
        """, "GlobalModel.Flora.g.cs");

    [Fact]
    public void NestedInPartialClasses() => VerifyModel(Usings + """
        namespace Demo;

        public static partial class Zoo
        {
            internal partial class Cage
            {
                public partial class Animal : Module<Tensor, Tensor>
                {
                    [FloraTarget] private readonly Linear fc = Linear(12, 6);

                    public Animal() : base(nameof(Animal)) => RegisterComponents();

                    public override Tensor forward(Tensor x) => fc.call(x);
                }
            }
        }
        """, "Demo.Zoo.Cage.Animal.Flora.g.cs");

    [Fact]
    public void NestedInPartialRecord() => VerifyModel(Usings + """
        namespace Demo;

        public partial record Experiment(string Name)
        {
            public partial class Net : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Conv2d conv = Conv2d(3, 16, 3, padding: 1);

                public Net() : base(nameof(Net)) => RegisterComponents();

                public override Tensor forward(Tensor x) => conv.call(x);
            }
        }
        """, "Demo.Experiment.Net.Flora.g.cs");

    [Fact]
    public void GenericModel() => VerifyModel(Usings + """
        namespace Demo;

        public partial class Classifier<T> : Module<Tensor, Tensor> where T : class
        {
            [FloraTarget] private readonly Linear head = Linear(128, 10);

            public Classifier() : base("Classifier") => RegisterComponents();

            public T? Label { get; set; }

            public override Tensor forward(Tensor x) => head.call(x);
        }
        """, "Demo.Classifier`1.Flora.g.cs");

    [Fact]
    public void GenericModelNestedInGeneric() => VerifyModel(Usings + """
        namespace Demo;

        public partial class Registry<TKey> where TKey : notnull
        {
            public partial class Entry<TValue> : Module<Tensor, Tensor> where TValue : struct
            {
                [FloraTarget] private readonly Linear fc = Linear(8, 8);

                public Entry() : base("Entry") => RegisterComponents();

                public TKey? Key { get; set; }

                public TValue Value { get; set; }

                public override Tensor forward(Tensor x) => fc.call(x);
            }
        }
        """, "Demo.Registry`1.Entry`1.Flora.g.cs");

    [Fact]
    public void Properties() => VerifyModel(Usings + """
        namespace Demo;

        public partial class PropertyTargets : Module<Tensor, Tensor>
        {
            /// <summary>Get-only auto-property: the base layer stays, reached through a hook.</summary>
            [FloraTarget] public Conv2d Stem { get; } = Conv2d(3, 8, 3, padding: 1);

            /// <summary>Settable and typed Module: the wrapper is stored into it.</summary>
            [FloraTarget(Rank = 2)] public Module<Tensor, Tensor> Mix { get; set; } = Conv2d(8, 8, 1);

            /// <summary>A private setter on a sealed layer type: cannot hold the wrapper.</summary>
            [FloraTarget] public Linear Head { get; private set; } = Linear(8, 4);

            /// <summary>Init-only: cannot be stored into after construction.</summary>
            [FloraTarget] public Module<Tensor, Tensor> Tail { get; init; } = Linear(4, 2);

            public PropertyTargets() : base(nameof(PropertyTargets)) => RegisterComponents();

            public override Tensor forward(Tensor x) => Tail.call(Head.call(Mix.call(Stem.call(x)).mean(new long[] { 2, 3 })));
        }
        """, "Demo.PropertyTargets.Flora.g.cs");

    [Fact]
    public void MemberNames() => VerifyModel(Usings + """
        namespace Demo;

        public partial class Naming : Module<Tensor, Tensor>
        {
            [FloraTarget] private readonly Linear @class = Linear(4, 4);
            [FloraTarget] private readonly Conv2d _conv = Conv2d(4, 4, 3);
            [FloraTarget] private readonly Linear __x = Linear(4, 4);
            [FloraTarget] private readonly Conv2d conv = Conv2d(4, 4, 1);
            [FloraTarget] private readonly Conv2d Conv = Conv2d(4, 4, 1);
            [FloraTarget] private readonly Linear method = Linear(4, 4);
            [FloraTarget] private readonly Linear _1x1 = Linear(4, 4);

            public Naming() : base(nameof(Naming)) => RegisterComponents();

            public override Tensor forward(Tensor x) =>
                _1x1.call(method.call(__x.call(@class.call(Conv.call(conv.call(_conv.call(x))).mean(new long[] { 2, 3 })))));
        }
        """, "Demo.Naming.Flora.g.cs");

    [Fact]
    public void ConstantsAndArithmetic() => VerifyModel(Usings + """
        namespace Demo;

        internal static class Sizes
        {
            public const int Hidden = 24;
        }

        public partial class ConstModel : Module<Tensor, Tensor>
        {
            private const int Width = 16;
            private const long Channels = 2 * Width;

            [FloraTarget] private readonly Linear a = Linear(2 * Width, Width / 2);
            [FloraTarget] private readonly Conv2d b = Conv2d(Channels, Sizes.Hidden, kernel_size: Width - 13, padding: 1);
            [FloraTarget] private readonly Linear c = Linear(outputSize: Sizes.Hidden + 1, inputSize: (int)Channels);

            public ConstModel() : base(nameof(ConstModel)) => RegisterComponents();

            public override Tensor forward(Tensor x) => c.call(b.call(a.call(x)));
        }
        """, "Demo.ConstModel.Flora.g.cs");

    [Fact]
    public void TupleKernels() => VerifyModel(Usings + """
        namespace Demo;

        public partial class Kernels : Module<Tensor, Tensor>
        {
            [FloraTarget(R3 = 2)] private readonly Conv2d wide = Conv2d(4, 8, (3, 5), padding: (1, 2));
            [FloraTarget] private readonly Conv3d volume = Conv3d(2, 4, (3, 3, 1));
            [FloraTarget(R3 = 3)] private readonly Conv3d cube = Conv3d(4, 4, 3);
            [FloraTarget] private readonly Conv1d seq = Conv1d(4, 4, 5);

            public Kernels() : base(nameof(Kernels)) => RegisterComponents();

            public override Tensor forward(Tensor x) => seq.call(cube.call(volume.call(wide.call(x))));
        }
        """, "Demo.Kernels.Flora.g.cs");

    [Fact]
    public void BuiltInConstructorFromArguments() => VerifyModel(Usings + """
        namespace Demo;

        public partial class Built : Module<Tensor, Tensor>
        {
            [FloraTarget] private readonly Linear fc;
            [FloraTarget(R3 = 2)] private readonly Conv2d conv;
            [FloraTarget] private readonly Linear head;

            public Built(int width, int classes) : base(nameof(Built))
            {
                conv = Conv2d(3, width, 3);
                fc = Linear(width, width);
                head = Linear(width, classes);
                RegisterComponents();
            }

            public override Tensor forward(Tensor x) => head.call(fc.call(conv.call(x).mean(new long[] { 2, 3 })));
        }
        """, "Demo.Built.Flora.g.cs");

    [Fact]
    public void BuiltInConstructorFromConstants() => VerifyModel(Usings + """
        namespace Demo;

        public partial class BuiltConst : Module<Tensor, Tensor>
        {
            [FloraTarget] private readonly Linear fc;
            [FloraTarget] private readonly Conv2d conv;

            public BuiltConst() : base(nameof(BuiltConst))
            {
                conv = Conv2d(3, 12, 3);
                this.fc = Linear(12, 4);
                RegisterComponents();
            }

            public override Tensor forward(Tensor x) => fc.call(conv.call(x).mean(new long[] { 2, 3 }));
        }
        """, "Demo.BuiltConst.Flora.g.cs");

    [Fact]
    public void DepthwiseAndGrouped() => VerifyModel(Usings + """
        namespace Demo;

        [FloraModel(R3 = 2)]
        public partial class ConvNeXtBlock : Module<Tensor, Tensor>
        {
            [FloraTarget] private readonly Conv2d dwconv = Conv2d(32, 32, 7, padding: 3, groups: 32);
            [FloraTarget(Rank = 4)] private readonly Conv2d grouped = Conv2d(32, 64, 3, padding: 1, groups: 4);
            [FloraTarget] private readonly Linear pwconv1 = Linear(64, 128);

            public ConvNeXtBlock() : base(nameof(ConvNeXtBlock)) => RegisterComponents();

            public override Tensor forward(Tensor x) => pwconv1.call(grouped.call(dwconv.call(x)).mean(new long[] { 2, 3 }));
        }
        """, "Demo.ConvNeXtBlock.Flora.g.cs");

    [Fact]
    public void EveryNamedArgument() => VerifyModel(Usings + """
        namespace Demo;

        [FloraModel(Rank = 4, R3 = 2, Scale = 0.04, MaxTrainableParameters = 1_000_000, AdapterSize = 6, AdaLoraTargetRank = 3, AdaLoraInitRank = 5)]
        public partial class Tuned : Module<Tensor, Tensor>
        {
            [FloraTarget(Rank = 6, InRank = 2, OutRank = 3, R3 = 1, Scale = 4, AdapterSize = 2)] private readonly Conv2d conv = Conv2d(8, 16, 3);
            [FloraTarget(OutRank = 5)] private readonly Conv1d seq = Conv1d(16, 16, 3);
            [FloraTarget(InRank = 7, Scale = 1e-3)] private readonly Linear head = Linear(16, 10);

            public Tuned() : base(nameof(Tuned)) => RegisterComponents();

            public override Tensor forward(Tensor x) => head.call(seq.call(conv.call(x).mean(new long[] { 3 })).mean(new long[] { 2 }));
        }
        """, "Demo.Tuned.Flora.g.cs");

    /// <summary>Runs the generator on <paramref name="source"/>, checks the file name and a clean build, and verifies the text.</summary>
    private static void VerifyModel(string source, string hintName, [CallerFilePath] string file = "", [CallerMemberName] string name = "")
    {
        var run = Run(source);
        Assert.Empty(run.InputErrors);
        run.AssertCompilesCleanly();
        string text = run.SingleSource();
        Assert.Equal(hintName, run.Sources[0].HintName);
        Snapshots.Verify(text, file, name);
    }
}
