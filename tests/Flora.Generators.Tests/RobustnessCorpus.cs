using System;
using System.Collections.Generic;
using System.Linq;
using static Flora.Generators.Tests.Infrastructure.TestCompiler;

namespace Flora.Generators.Tests;

/// <summary>One input of the robustness corpus: its files, and whether TorchSharp.dll is left out of the references.</summary>
internal sealed record CorpusCase(string Name, string[] Sources, bool WithoutTorchSharp = false);

/// <summary>
/// Malformed and unusual inputs, made programmatically from valid models: truncations at seeded random positions,
/// removed braces and lines, attributes in every wrong place, wrong argument types and values, every kind of type
/// declaration, out-of-range and non-constant shapes, odd initializers, unresolved names.
/// Valid code on which the generator is known to emit broken code is in <see cref="GeneratorBugTests"/>, not here.
/// </summary>
internal static class RobustnessCorpus
{
    private const int Seed = 20_261_124;

    private static readonly Lazy<IReadOnlyDictionary<string, CorpusCase>> s_cases = new(() =>
    {
        var cases = new Dictionary<string, CorpusCase>(StringComparer.Ordinal);
        foreach (var c in Build())
            cases.Add(c.Name, c); // throws on a duplicate name: each case is addressable
        return cases;
    });

    public static IReadOnlyDictionary<string, CorpusCase> Cases => s_cases.Value;

    /// <summary>The valid models every mutation starts from.</summary>
    public static readonly (string Name, string Source)[] Seeds =
    {
        ("SmallCnn", Usings + """
            namespace Demo;

            [FloraModel(Rank = 8, R3 = 2, Scale = 0.4, MaxTrainableParameters = 200_000)]
            public partial class SmallCnn : Module<Tensor, Tensor>
            {
                [FloraTarget(Rank = 16, R3 = 2)] private readonly Conv2d conv1 = Conv2d(1, 32, 3, padding: 1);
                [FloraTarget] private readonly Conv2d conv2 = Conv2d(32, 64, 3, padding: 1);
                [FloraTarget(Rank = 4)] private readonly Linear head = Linear(64, 10);
                private readonly BatchNorm2d bn = BatchNorm2d(32);

                public SmallCnn() : base(nameof(SmallCnn)) => RegisterComponents();

                public override Tensor forward(Tensor x)
                {
                    var h = functional.relu(bn.call(conv1.call(x)));
                    h = functional.relu(conv2.call(h));
                    return head.call(h.mean(new long[] { 2, 3 }));
                }
            }
            """),
        ("Properties", Usings + """
            namespace Demo.Props
            {
                public partial class PropertyModel : Module<Tensor, Tensor>
                {
                    private const int Width = 6;

                    [FloraTarget(R3 = 1)] public Conv2d Stem { get; } = Conv2d(3, Width, (3, 5), padding: (1, 2));
                    [FloraTarget(OutRank = 2, InRank = 3)] public Module<Tensor, Tensor> Mix { get; set; } = Conv1d(Width, 2 * Width, 3, padding: 1);
                    [FloraTarget] private Linear _head = Linear(2 * Width, 4);

                    public PropertyModel() : base(nameof(PropertyModel)) => RegisterComponents();

                    public override Tensor forward(Tensor x) => _head.call(Mix.call(Stem.call(x).mean(new long[] { 3 })).mean(new long[] { 2 }));
                }
            }
            """),
        ("RuntimeShapes", Usings + """
            public partial class RuntimeShapes : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Linear fc;
                [FloraTarget(R3 = 3)] private readonly Conv3d conv;

                public RuntimeShapes(int width) : base(nameof(RuntimeShapes))
                {
                    fc = Linear(width, width);
                    conv = Conv3d(2, width, 3, padding: 1);
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x) => fc.call(conv.call(x).mean(new long[] { 2, 3, 4 }));
            }
            """),
        ("NestedGeneric", Usings + """
            namespace Demo;

            public static partial class Outer
            {
                public partial class Nested<T> : Module<Tensor, Tensor> where T : class
                {
                    [FloraTarget] private readonly Conv2d dw = Conv2d(8, 8, 7, padding: 3, groups: 8);
                    [FloraTarget(Rank = 2, Scale = 4)] public Module<Tensor, Tensor> Pw { get; set; } = Conv2d(8, 16, 1);

                    public Nested() : base("Nested") => RegisterComponents();

                    public T? Tag { get; set; }

                    public override Tensor forward(Tensor x) => Pw.call(dw.call(x));
                }
            }
            """),
    };

    private static IEnumerable<CorpusCase> Build()
    {
        var random = new Random(Seed);
        foreach (var (name, source) in Seeds)
        {
            yield return new CorpusCase("seed/" + name, new[] { source });
            yield return new CorpusCase("seed-without-torchsharp/" + name, new[] { source }, WithoutTorchSharp: true);

            // Truncated at seeded random positions (an editor mid-keystroke).
            foreach (int at in Enumerable.Range(0, 32).Select(_ => random.Next(1, source.Length)).Distinct().OrderBy(i => i))
                yield return new CorpusCase($"truncate/{name}@{at}", new[] { source.Substring(0, at) });

            // One brace removed.
            var braces = Enumerable.Range(0, source.Length).Where(i => source[i] is '{' or '}').ToArray();
            foreach (int at in braces.OrderBy(_ => random.Next()).Take(6).OrderBy(i => i))
                yield return new CorpusCase($"remove-brace/{name}@{at}", new[] { source.Remove(at, 1) });

            // One line removed.
            var lines = source.Split('\n');
            foreach (int line in Enumerable.Range(0, lines.Length).OrderBy(_ => random.Next()).Take(5).OrderBy(i => i))
                yield return new CorpusCase($"remove-line/{name}#{line}", new[] { string.Join("\n", lines.Where((_, i) => i != line)) });

            // One random character replaced by a character C# gives meaning to.
            const string noise = "{}();,=<>@\"'/#[]?!";
            for (int k = 0; k < 4; k++)
            {
                int at = random.Next(source.Length);
                char c = noise[random.Next(noise.Length)];
                yield return new CorpusCase($"replace-char/{name}@{at}={(int)c}", new[] { source.Remove(at, 1).Insert(at, c.ToString()) });
            }
        }

        foreach (var (name, source) in Variants())
            yield return new CorpusCase("variant/" + name, source);
    }

    /// <summary>A model <c>M</c> with <paramref name="members"/>; the rest of the file is valid.</summary>
    private static string Model(string members, string attributes = "", string declaration = "public partial class M : Module<Tensor, Tensor>",
        string ctor = "public M() : base(nameof(M)) => RegisterComponents();") =>
        "using System;\n" + Usings + "namespace Demo;\n" + attributes + "\n" + declaration + "\n{\n    " + members + "\n    " + ctor +
        "\n    public override Tensor forward(Tensor x) => x;\n}\n";

    private static IEnumerable<(string Name, string[] Sources)> Variants()
    {
        (string, string[]) One(string name, params string[] sources) => (name, sources);
        (string, string[]) Member(string name, string members, string attributes = "") => (name, new[] { Model(members, attributes) });

        // The attribute where it does not belong.
        yield return Member("attribute/on-method", "[FloraTarget] public void F() { }");
        yield return One("attribute/on-class", Usings + "[FloraTarget] public partial class M : Module<Tensor, Tensor> { public M() : base(\"M\") { } public override Tensor forward(Tensor x) => x; }");
        yield return Member("attribute/on-parameter", "public void F([FloraTarget] Linear l) { }");
        yield return Member("attribute/on-return", "[return: FloraTarget] public Linear F() => Linear(1, 1);");
        yield return One("attribute/on-constructor", Model("", ctor: "[FloraTarget] public M() : base(nameof(M)) => RegisterComponents();"));
        yield return Member("attribute/on-local", "public void F() { [FloraTarget] Linear l = Linear(1, 1); l.Dispose(); }");
        yield return Member("attribute/on-local-function", "public void F() { [FloraTarget] static Linear Make() => Linear(1, 1); Make().Dispose(); }");
        yield return Member("attribute/on-lambda", "public System.Func<Linear> F = [FloraTarget] () => Linear(1, 1);");
        yield return Member("attribute/on-event", "[FloraTarget] public event System.Action? Changed;");
        yield return Member("attribute/on-indexer", "[FloraTarget] public Linear this[int i] => Linear(i, i);");
        yield return Member("attribute/on-type-parameter-method", "public void F<[FloraTarget] T>() { }");
        yield return One("attribute/on-assembly", "[assembly: Flora.FloraTarget]\n" + Model("[FloraTarget] private readonly Linear fc = Linear(2, 2);"));
        yield return One("attribute/on-enum-member", Usings + "public enum E { [FloraTarget] A }");
        yield return One("attribute/on-delegate", Usings + "[FloraTarget] public delegate Linear Make();");
        yield return Member("attribute/model-attribute-on-field", "[FloraModel] private readonly Linear fc = Linear(2, 2);");
        yield return Member("attribute/model-attribute-on-class-only", "private readonly Linear fc = Linear(2, 2);", "[FloraModel(Rank = 2)]");
        yield return Member("attribute/on-const-field", "[FloraTarget] private const Linear? Nothing = null;");
        yield return Member("attribute/on-field-like-event", "[field: FloraTarget] public event System.Action? Changed;");
        yield return Member("attribute/property-target-on-auto-property-field", "[field: FloraTarget] public Linear Fc { get; } = Linear(2, 2);");
        yield return Member("attribute/in-disabled-region", "#if NEVER\n    [FloraTarget]\n#endif\n    private readonly Linear fc = Linear(2, 2);");
        yield return Member("attribute/in-enabled-region", "#if !NEVER\n    [FloraTarget]\n#endif\n    private readonly Linear fc = Linear(2, 2);");

        // Arguments of the wrong type or value.
        foreach (var (label, argument) in new[]
        {
            ("rank-string", "Rank = \"x\""), ("rank-double", "Rank = 1.5"), ("rank-null", "Rank = null"), ("rank-bool", "Rank = true"),
            ("rank-long", "Rank = 1L"), ("rank-char", "Rank = 'c'"), ("rank-max", "Rank = int.MaxValue"), ("rank-min", "Rank = int.MinValue"),
            ("rank-negative", "Rank = -5"), ("rank-zero", "Rank = 0"), ("rank-cast", "Rank = (int)2.9"), ("rank-not-constant", "Rank = nameof(M).Length + Environment.TickCount"),
            ("rank-const-elsewhere", "Rank = Ranks.Small"), ("rank-checked-overflow", "Rank = int.MaxValue + 1"), ("rank-unchecked-overflow", "Rank = unchecked(int.MaxValue + 1)"),
            ("inrank-zero", "InRank = 0"), ("outrank-negative", "OutRank = -1"), ("in-out-huge", "InRank = int.MaxValue, OutRank = int.MaxValue"),
            ("r3-zero", "R3 = 0"), ("r3-huge", "R3 = 1000"), ("r3-min", "R3 = int.MinValue"),
            ("scale-string", "Scale = \"x\""), ("scale-nan", "Scale = double.NaN"), ("scale-infinity", "Scale = double.PositiveInfinity"),
            ("scale-negative-infinity", "Scale = double.NegativeInfinity"), ("scale-negative", "Scale = -1"), ("scale-zero", "Scale = 0"),
            ("scale-float", "Scale = 1f / 3"), ("scale-huge", "Scale = 1e308"), ("scale-epsilon", "Scale = double.Epsilon"), ("scale-decimal", "Scale = 0.5m"),
            ("scale-int", "Scale = 2"), ("scale-long", "Scale = 3L"), ("positional", "3"), ("empty-parentheses", ""), ("unknown-name", "Foo = 1"),
            ("duplicated-name", "Rank = 1, Rank = 2"), ("every-argument", "Rank = 3, InRank = 2, OutRank = 4, R3 = 1, Scale = 0.5"),
            ("model-only-argument", "MaxTrainableParameters = 10"),
        })
        {
            string members = "[FloraTarget(" + argument + ")] private readonly Conv2d conv = Conv2d(4, 8, 3);";
            yield return ("argument/" + label, new[] { Model(members), "public static class Ranks { public const int Small = 2; }" });
        }
        foreach (var (label, argument) in new[]
        {
            ("rank-string", "Rank = \"x\""), ("rank-zero", "Rank = 0"), ("r3-negative", "R3 = -1"), ("scale-nan", "Scale = double.NaN"),
            ("budget-negative", "MaxTrainableParameters = -1"), ("budget-max", "MaxTrainableParameters = long.MaxValue"), ("budget-exceeded", "MaxTrainableParameters = 1"),
            ("budget-double", "MaxTrainableParameters = 1.5"), ("positional", "4"), ("unknown-name", "Depth = 2"),
        })
            yield return Member("model-argument/" + label, "[FloraTarget] private readonly Linear fc = Linear(16, 16);", "[FloraModel(" + argument + ")]");
        yield return Member("attribute/duplicated-in-one-list", "[FloraTarget, FloraTarget] private readonly Linear fc = Linear(2, 2);");
        yield return Member("attribute/duplicated-in-two-lists", "[FloraTarget][FloraTarget(Rank = 2)] private readonly Linear fc = Linear(2, 2);");
        yield return Member("attribute/model-duplicated", "[FloraTarget] private readonly Linear fc = Linear(2, 2);", "[FloraModel][FloraModel(Rank = 2)]");
        yield return Member("attribute/misspelled", "[FloraTargett] private readonly Linear fc = Linear(2, 2);");
        yield return Member("attribute/unclosed", "[FloraTarget(Rank = 2 private readonly Linear fc = Linear(2, 2);");
        yield return Member("attribute/empty-list", "[] private readonly Linear fc = Linear(2, 2);");

        // Every kind of declaration.
        yield return One("declaration/partial-without-base", Usings + "public partial class M { [FloraTarget] private readonly Linear fc = Linear(2, 2); public Linear Fc => fc; }");
        yield return One("declaration/record-deriving-module", Usings + "public partial record M : Module<Tensor, Tensor> { [FloraTarget] private readonly Linear fc = Linear(2, 2); }");
        yield return One("declaration/record", Usings + "public partial record R(int A) { [FloraTarget] public Linear Fc { get; init; } = Linear(2, 2); }");
        yield return One("declaration/record-struct", Usings + "public partial record struct R(int A) { [FloraTarget] public Linear Fc { get; init; } = Linear(2, 2); }");
        yield return One("declaration/struct", Usings + "public partial struct S { [FloraTarget] public Linear Fc; }");
        yield return One("declaration/readonly-struct", Usings + "public readonly partial struct S { [FloraTarget] public Linear Fc { get; } }");
        yield return One("declaration/ref-struct", Usings + "public ref partial struct S { [FloraTarget] public Linear Fc; }");
        yield return One("declaration/interface", Usings + "public partial interface I { [FloraTarget] Linear Fc { get; } }");
        yield return One("declaration/interface-default-property", Usings + "public partial interface I { [FloraTarget] Linear Fc => Linear(2, 2); }");
        yield return One("declaration/interface-static", Usings + "public partial interface I { [FloraTarget] static Linear Fc { get; } = Linear(2, 2); }");
        yield return One("declaration/enum", Usings + "public enum E { A, B }");
        yield return One("declaration/static-class", Usings + "public static partial class S { [FloraTarget] private static readonly Linear fc = Linear(2, 2); public static Linear Fc => fc; }");
        yield return One("declaration/static-class-deriving-module", Usings + "public static partial class S : Module<Tensor, Tensor> { [FloraTarget] private static readonly Linear fc = Linear(2, 2); }");
        yield return One("declaration/abstract-model", Model("[FloraTarget] private readonly Linear fc = Linear(2, 2);\n    [FloraTarget] public abstract Linear Head { get; }",
            declaration: "public abstract partial class M : Module<Tensor, Tensor>", ctor: "protected M() : base(nameof(M)) { }"));
        yield return One("declaration/sealed-model", Model("[FloraTarget] private readonly Linear fc = Linear(2, 2);", declaration: "public sealed partial class M : Module<Tensor, Tensor>"));
        yield return One("declaration/internal-model", Model("[FloraTarget] private readonly Linear fc = Linear(2, 2);", declaration: "internal partial class M : Module<Tensor, Tensor>"));
        yield return One("declaration/generic-unmanaged", Model("[FloraTarget] private readonly Linear fc = Linear(2, 2);",
            declaration: "public partial class M<T, U> : Module<Tensor, Tensor> where T : unmanaged where U : System.Collections.Generic.IList<T>, new()", ctor: "public M() : base(\"M\") => RegisterComponents();"));
        yield return One("declaration/generic-base", Usings + """
            public abstract class Base<T> : Module<Tensor, Tensor> { protected Base() : base("B") { } }
            public partial class M : Base<int> { [FloraTarget] private readonly Linear fc = Linear(2, 2); public override Tensor forward(Tensor x) => fc.call(x); }
            """);
        yield return One("declaration/nested-in-non-partial", Usings + "public class Outer { public partial class M : Module<Tensor, Tensor> { [FloraTarget] private readonly Linear fc = Linear(2, 2); public M() : base(\"M\") { } public override Tensor forward(Tensor x) => fc.call(x); } }");
        yield return One("declaration/nested-in-generic-struct", Usings + "public partial struct Outer<T> { public partial class M : Module<Tensor, Tensor> { [FloraTarget] private readonly Linear fc = Linear(2, 2); public M() : base(\"M\") { } public override Tensor forward(Tensor x) => fc.call(x); } }");
        yield return One("declaration/nested-in-static-generic", Usings + "public static partial class Outer<T> where T : struct { public partial class M : Module<Tensor, Tensor> { [FloraTarget] private readonly Linear fc = Linear(2, 2); public M() : base(\"M\") { } public override Tensor forward(Tensor x) => fc.call(x); } }");
        yield return One("declaration/model-in-model", Usings + """
            public partial class Outer : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly Linear fc = Linear(2, 2);
                public Outer() : base("Outer") => RegisterComponents();
                public override Tensor forward(Tensor x) => fc.call(x);

                public partial class Inner : Module<Tensor, Tensor>
                {
                    [FloraTarget] private readonly Linear fc = Linear(3, 3);
                    public Inner() : base("Inner") => RegisterComponents();
                    public override Tensor forward(Tensor x) => fc.call(x);
                }
            }
            """);
        yield return One("declaration/primary-constructor", Usings + """
            public partial class M(int width) : Module<Tensor, Tensor>(nameof(M))
            {
                [FloraTarget] private readonly Linear fc = Linear(width, 2);
                [FloraTarget] private readonly Linear fixedSize = Linear(2, 2);
                public override Tensor forward(Tensor x) => fixedSize.call(fc.call(x));
            }
            """);
        yield return One("declaration/two-files", Model("[FloraTarget] private readonly Linear a = Linear(2, 2);"),
            Usings + "namespace Demo;\npublic partial class M { [FloraTarget(Rank = 1)] private readonly Conv1d b = Conv1d(2, 2, 3); }");
        yield return One("declaration/two-files-second-not-partial", Model("[FloraTarget] private readonly Linear a = Linear(2, 2);"),
            Usings + "namespace Demo;\npublic class M { [FloraTarget] private readonly Linear b = Linear(2, 2); }");
        yield return One("declaration/duplicate-class-name", Model("[FloraTarget] private readonly Linear a = Linear(2, 2);"),
            Usings + "namespace Demo;\npublic class M : Module<Tensor, Tensor> { [FloraTarget] private readonly Linear b = Linear(2, 2); public M() : base(\"M\") { } public override Tensor forward(Tensor x) => x; }");
        yield return One("declaration/many-targets", Model(string.Join("\n    ", Enumerable.Range(0, 150).Select(i => $"[FloraTarget] private readonly Linear fc{i} = Linear({i + 1}, {i + 2});"))));
        yield return One("declaration/unicode-names", Model("[FloraTarget] private readonly Linear ñandú = Linear(2, 2);\n    [FloraTarget] private readonly Linear \\u0061bc = Linear(2, 2);\n    [FloraTarget] private readonly Linear 変換 = Linear(2, 2);\n    [FloraTarget] private readonly Linear @_x = Linear(2, 2);"));
        yield return One("declaration/nullable-disabled-file", "#nullable disable\n" + Model("[FloraTarget] private Linear fc = Linear(2, 2);\n    [FloraTarget] public Module<Tensor, Tensor> Mix { get; set; } = Linear(2, 2);"));
        yield return One("declaration/pragma-warnings-disabled", "#pragma warning disable\n" + Model("[FloraTarget] private readonly Linear fc = Linear(2, 2);"));

        // Shapes: constants out of range, non-constant, odd overloads.
        foreach (var (label, creation) in new[]
        {
            ("conv-max-negative-zero", "Conv2d(int.MaxValue, -1, 0)"), ("conv-zeros", "Conv2d(0, 0, 0)"), ("conv-negative-kernel", "Conv2d(2, 2, -3)"),
            ("conv-huge", "Conv2d(long.MaxValue, long.MaxValue, long.MaxValue)"), ("conv-groups-not-dividing", "Conv2d(6, 8, 3, groups: 4)"),
            ("conv-groups-zero", "Conv2d(4, 4, 3, groups: 0)"), ("conv-groups-negative", "Conv2d(4, 4, 3, groups: -2)"), ("conv-groups-out-not-dividing", "Conv2d(4, 6, 3, groups: 4)"),
            ("conv-tuple-negative", "Conv2d(2, 2, (3, -3))"), ("conv-tuple-zero", "Conv2d(2, 2, (0, 3))"), ("conv-unsigned", "Conv2d(3u, 6u, 3u)"),
            ("conv-small-types", "Conv2d((byte)3, (short)6, (sbyte)3)"), ("conv-named-out-of-order", "Conv2d(kernel_size: 3, out_channels: 4, in_channels: 2)"),
            ("conv-not-constant", "Conv2d(Environment.ProcessorCount, 4, 3)"), ("conv-default-literals", "Conv2d(default, default, default)"),
            ("conv-shift", "Conv2d(1 << 3, 1 << 4, 3)"), ("conv-char", "Conv2d('a', 'b', 3)"), ("conv-stride-dilation", "Conv2d(4, 8, 3, stride: 2, padding: 2, dilation: 2)"),
            ("conv-padding-same", "Conv2d(4, 8, 3, padding: Padding.Same)"), ("conv-fully-qualified", "TorchSharp.torch.nn.Conv2d(4, 8, 3)"),
            ("conv-nn-qualified", "torch.nn.Conv2d(4, 8, 3)"), ("conv-cast", "(Conv2d)Conv2d(4, 8, 3)"), ("conv-null-forgiving", "Conv2d(4, 8, 3)!"),
            ("conv-wrong-layer", "Linear(2, 2)"), ("conv-unresolved-factory", "Conv9d(1, 2, 3)"), ("conv-missing-arguments", "Conv2d(1)"), ("conv-too-many-arguments", "Conv2d(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14)"),
            ("conv-null", "null!"), ("conv-default", "default!"), ("conv-null-warning", "null"), ("conv-conditional", "Environment.Is64BitProcess ? Conv2d(1, 2, 3) : Conv2d(2, 2, 3)"),
            ("conv-coalesce", "Make() ?? Conv2d(1, 2, 3)"), ("conv-helper", "Make()!"), ("conv-lambda-invoked", "((Func<Conv2d>)(() => Conv2d(1, 2, 3)))()"),
            ("conv-switch", "Environment.ProcessorCount switch { 1 => Conv2d(1, 1, 1), _ => Conv2d(2, 2, 2) }"), ("conv-throw", "throw new InvalidOperationException()"),
            ("conv-new", "new Conv2d(1, 2, 3)"), ("conv-target-typed-new", "new()"), ("conv-string", "\"conv\""),
            ("conv-int-max-plus", "Conv2d(int.MaxValue + 1L, 2, 3)"), ("conv-checked-overflow", "Conv2d(int.MaxValue + 1, 2, 3)"),
        })
            yield return Member("shape/" + label, "[FloraTarget] private readonly Conv2d conv = " + creation + ";\n    private static Conv2d? Make() => null;");
        foreach (var (label, creation) in new[]
        {
            ("linear-negative", "Linear(-5, 3)"), ("linear-long-max", "Linear(long.MaxValue, 1)"), ("linear-no-bias", "Linear(4, 4, hasBias: false)"),
            ("linear-named", "Linear(outputSize: 3, inputSize: 5)"), ("linear-weight-bias", "Linear(new Parameter(torch.zeros(2, 3)), null)"),
            ("linear-device", "Linear(4, 4, device: CPU)"), ("linear-dtype", "Linear(4, 4, dtype: ScalarType.Float64)"),
        })
            yield return Member("shape/" + label, "[FloraTarget] private readonly Linear fc = " + creation + ";");
        foreach (var (label, creation) in new[]
        {
            ("conv1d-tuple", "Conv1d(2, 2, (3))"), ("conv3d-pair", "Conv3d(2, 2, (3, 3))"), ("conv3d-triple-mixed", "Conv3d(2, 4, (3, 1, 5))"),
            ("conv3d-negative-triple", "Conv3d(2, 4, (3, -1, 5))"),
        })
            yield return Member("shape/" + label, "[FloraTarget] private readonly Module<Tensor, Tensor> layer = " + creation + ";");
        yield return Member("shape/module-typed-sequential", "[FloraTarget] public Module<Tensor, Tensor> Block { get; set; } = Sequential(Linear(2, 2), ReLU());");
        yield return Member("shape/module-typed-unsupported", "[FloraTarget] private readonly Module<Tensor, Tensor> norm = BatchNorm2d(4);");
        yield return Member("shape/unsupported-layer", "[FloraTarget] private readonly BatchNorm2d bn = BatchNorm2d(4);\n    [FloraTarget] private readonly Embedding emb = Embedding(10, 4);");
        yield return Member("shape/lambda-field", "[FloraTarget] private readonly Func<Linear> make = () => Linear(1, 1);");
        yield return Member("shape/linear-typed-wrong-creation", "[FloraTarget] private readonly Linear fc = Conv2d(1, 1, 1);");
        yield return Member("shape/unresolved-type", "[FloraTarget] private readonly Foo fc = Foo.Create();");
        yield return Member("shape/expression-bodied-property", "private readonly Linear fc = Linear(2, 2);\n    [FloraTarget] public Linear Fc => fc;");
        yield return Member("shape/property-with-body", "private Linear fc = Linear(2, 2);\n    [FloraTarget] public Linear Fc { get { return fc; } set { fc = value; } }");
        yield return Member("shape/required-property", "[FloraTarget] public required Linear Fc { get; set; }");
        yield return Member("shape/ref-property", "private Linear fc = Linear(2, 2);\n    [FloraTarget] public ref Linear Fc => ref fc;");
        yield return Member("shape/init-only-module", "[FloraTarget] public Module<Tensor, Tensor> Fc { get; init; } = Linear(2, 2);");
        yield return Member("shape/protected-internal", "[FloraTarget] protected internal Linear fc = Linear(2, 2);");
        yield return Member("shape/new-modifier", "[FloraTarget] private new readonly Linear fc = Linear(2, 2);");
        yield return Member("shape/volatile", "[FloraTarget] private volatile Linear fc = Linear(2, 2);");
        yield return Member("shape/indexer-and-field", "[FloraTarget] public Linear this[int i] => fc;\n    [FloraTarget] private readonly Linear fc = Linear(2, 2);");
        yield return Member("shape/unassigned-field", "[FloraTarget] private readonly Linear fc = null!;");
        yield return One("shape/assigned-in-two-constructors", Model("[FloraTarget] private readonly Linear fc;",
            ctor: "public M() : base(nameof(M)) { fc = Linear(2, 2); RegisterComponents(); }\n    public M(int w) : base(nameof(M)) { fc = Linear(w, 2); RegisterComponents(); }"));
        yield return One("shape/assigned-twice-in-one-constructor", Model("[FloraTarget] private readonly Linear fc;",
            ctor: "public M() : base(nameof(M)) { fc = Linear(2, 2); fc.Dispose(); fc = Linear(3, 3); RegisterComponents(); }"));
        yield return One("shape/assigned-in-expression-bodied-constructor", Model("[FloraTarget] private readonly Linear fc;", ctor: "public M() : base(nameof(M)) => fc = Linear(2, 2);"));
        yield return One("shape/assigned-through-tuple", Model("[FloraTarget] private readonly Linear a;\n    [FloraTarget] private readonly Linear b;",
            ctor: "public M() : base(nameof(M)) { (a, b) = (Linear(2, 2), Linear(3, 3)); RegisterComponents(); }"));
        yield return One("shape/assigned-in-other-file-constructor", Model("[FloraTarget] private readonly Linear fc;", ctor: ""),
            Usings + "namespace Demo;\npublic partial class M { public M() : base(nameof(M)) { fc = Linear(2, 2); RegisterComponents(); } }");
        yield return One("shape/constant-in-other-file", Model("[FloraTarget] private readonly Linear fc = Linear(Sizes.In, Sizes.Out);"),
            "namespace Demo; public static class Sizes { public const int In = 4; public const int Out = 8; }");
        yield return One("shape/constant-cycle", Model("private const int A = B;\n    private const int B = A;\n    [FloraTarget] private readonly Linear fc = Linear(A, B);"));
        yield return One("shape/enum-constant", Model("private enum Width { Small = 4 }\n    [FloraTarget] private readonly Linear fc = Linear((int)Width.Small, (long)Width.Small);"));

        // Broken base types and missing usings.
        yield return One("unresolved/missing-using-flora", Usings.Replace("using Flora;\n", "") + "public partial class M : Module<Tensor, Tensor> { [FloraTarget] private readonly Linear fc = Linear(2, 2); public M() : base(\"M\") { } public override Tensor forward(Tensor x) => x; }");
        yield return One("unresolved/missing-torchsharp-usings", "using Flora;\npublic partial class M : Module<Tensor, Tensor> { [FloraTarget] private readonly Linear fc = Linear(2, 2); public M() : base(\"M\") { } public override Tensor forward(Tensor x) => x; }");
        yield return One("unresolved/base-misspelled", Model("[FloraTarget] private readonly Linear fc = Linear(2, 2);", declaration: "public partial class M : Modul<Tensor, Tensor>"));
        yield return One("unresolved/base-cycle", Usings + "public partial class M : N { [FloraTarget] private readonly Linear fc = Linear(2, 2); }\npublic partial class N : M { }");
        yield return One("unresolved/base-sealed-layer", Usings + "public partial class M : Linear { [FloraTarget] private readonly Linear fc = Linear(2, 2); }");
        yield return One("unresolved/only-garbage", "}}}} [FloraTarget] ((( partial class : : Module<<");
        yield return One("unresolved/empty-file", "");
    }
}
