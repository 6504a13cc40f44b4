using System.Linq;
using System.Runtime.CompilerServices;
using Flora.Generators.Tests.Infrastructure;
using Xunit;
using static Flora.Generators.Tests.Infrastructure.TestCompiler;

namespace Flora.Generators.Tests;

/// <summary>
/// The interceptors file (issue 17) of representative models, compared with
/// <c>Snapshots/InterceptorSnapshotTests.*.verified.cs</c>; every output compiles without an error or warning with
/// interception enabled as the package enables it.
/// </summary>
public sealed class InterceptorSnapshotTests
{
    [Fact]
    public void EveryLayerAndMemberKind() => VerifyInterceptors("Demo.Mixed.Flora.Interceptors.g.cs", Usings + """
        namespace Demo;

        public partial class Mixed : Module<Tensor, Tensor>
        {
            [FloraTarget] private readonly Conv2d stem = Conv2d(3, 8, 3, padding: 1);
            [FloraTarget] private readonly Conv2d dw = Conv2d(8, 8, 7, padding: 3, groups: 8);
            [FloraTarget] public Conv1d Seq { get; } = Conv1d(8, 8, 3, padding: 1);
            [FloraTarget] private readonly Conv3d vol = Conv3d(1, 2, 3, padding: 1);
            [FloraTarget] public Module<Tensor, Tensor> Fixed { get; } = Linear(8, 8);
            [FloraTarget] public Module<Tensor, Tensor> Stored { get; set; } = Linear(8, 8);
            [FloraTarget] private readonly Linear head = Linear(8, 4);

            public Mixed() : base(nameof(Mixed)) => RegisterComponents();

            public override Tensor forward(Tensor x)
            {
                var h = this.dw.forward(stem.forward(x));                     // this.member and member
                h = Seq.forward(h.mean(new long[] { 3 }));                    // a property
                var pool = (Tensor t) => t.mean(new long[] { 2 });
                h = Fixed.forward(pool(h));                                   // a get-only Module<Tensor, Tensor> keeps its base layer
                h = Stored.forward(h);                                        // holds the wrapper: forward runs the adapter, not intercepted
                h = Fixed.call(h) + Stored.call(h);                           // call(x): straight to the adapter (Stored holds it: not intercepted)
                return Head(h) + Volume(x) + this.stem.call(x).sum();

                Tensor Head(Tensor t) => head.forward(t);                     // a local function
            }

            private Tensor Volume(Tensor x) => new System.Func<Tensor, Tensor>(v => vol.forward(v).sum())(x.unsqueeze(1).narrow(2, 0, 1)); // a lambda
        }
        """);

    [Fact]
    public void PartialPartsAndNestedTypes() => VerifyInterceptors("Demo.Outer.Block.Flora.Interceptors.g.cs", new[]
        {
        Usings + """
        namespace Demo;

        public partial class Outer
        {
            public partial class Block : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Linear up = Linear(4, 8);
                [FloraTarget] private readonly Linear down = Linear(8, 4);

                public Block() : base(nameof(Block)) => RegisterComponents();

                public override Tensor forward(Tensor x) => down.forward(Helper.Run(this, x));

                private sealed class Helper
                {
                    public static Tensor Run(Block block, Tensor x) => block.up.forward(x);   // a nested type of the model
                }
            }
        }
        """,
        Usings + """
        namespace Demo;

        public partial class Outer
        {
            public partial class Block
            {
                public Tensor Twice(Tensor x) => up.call(x) + this.up.forward(x);          // another partial part
            }
        }
        """,
        });

    /// <summary>Runs the generator with interception on, checks a clean build and the file name, and verifies the interceptors file.</summary>
    private static void VerifyInterceptors(string hintName, string source, [CallerFilePath] string file = "", [CallerMemberName] string name = "") =>
        VerifyInterceptors(hintName, new[] { source }, file, name);

    private static void VerifyInterceptors(string hintName, string[] sources, [CallerFilePath] string file = "", [CallerMemberName] string name = "")
    {
        var run = InterceptionCompiler.Run(InterceptionCompiler.Compile(InterceptionCompiler.ParseOptions(), sources));
        Assert.Empty(run.InputErrors);
        run.AssertCompilesCleanly();
        Assert.Equal(2, run.Sources.Length);
        Snapshots.Verify(run.Source(hintName), file, name);
    }
}
