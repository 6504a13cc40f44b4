namespace Flora.Analyzers.Tests.Corpus;

/// <summary>
/// One corpus input: what it is, its source (without <see cref="TestReferences.Header"/>), and whether it was built as correct
/// Flora code (then it must compile without errors and raise no Flora diagnostic).
/// </summary>
internal sealed record CorpusInput(string Name, string Source, bool Valid);

/// <summary>Hand-written odd inputs: attributes in odd places, wrong argument types, odd type kinds, constants out of range, unresolved names.</summary>
internal static class OddInputs
{
    private static string Model(string members, string model = "[FloraModel]", string name = "Odd") => $$"""
        {{model}}
        public partial class {{name}} : Module<Tensor, Tensor>
        {
        {{members}}
            public {{name}}() : base("{{name}}") => RegisterComponents();
            public override Tensor forward(Tensor x) => x;
        }
        """;

    public static IEnumerable<CorpusInput> Placements()
    {
        yield return new("target on a method", Model("    [FloraTarget] public Linear Make() => Linear(4, 4);"), false);
        yield return new("target on a class", "[FloraTarget] public partial class C : Module<Tensor, Tensor> { public C() : base(\"C\") { } public override Tensor forward(Tensor x) => x; }", false);
        yield return new("target on a parameter", Model("    public void Use([FloraTarget] Linear layer) { }"), false);
        yield return new("target on a return value", Model("    [return: FloraTarget] public Linear Make() => Linear(4, 4);"), false);
        yield return new("model on the assembly", "[assembly: FloraModel]\npublic class C { }", false);
        yield return new("model on a struct", "[FloraModel] public partial struct S { [FloraTarget] public Linear Fc; }", false);
        yield return new("model on an interface", "[FloraModel] public partial interface I { [FloraTarget] Linear Fc { get; } }", false);
        yield return new("model on an enum", "[FloraModel] public enum E { A, B }", false);
        yield return new("target on an enum member", "public enum E { [FloraTarget] A, B }", false);
        yield return new("model on a delegate", "[FloraModel] public delegate void D();", false);
        yield return new("target on a local function", Model("    public void Run() { [FloraTarget] static Linear Make() => Linear(4, 4); Make(); }"), false);
        yield return new("target on a lambda", Model("    public System.Func<Linear> Make = [FloraTarget] () => Linear(4, 4);"), false);
        yield return new("target on an auto-property's backing field", Model("    [field: FloraTarget] public Linear Fc { get; } = Linear(4, 4);"), false);
        yield return new("target on an event", Model("    [FloraTarget] public event System.Action? Changed;"), false);
        yield return new("target on an event field", Model("    [field: FloraTarget] public event System.Action? Changed;"), false);
        yield return new("target on a const", Model("    [FloraTarget] private const int Width = 4;"), false);
        yield return new("target on a static property", Model("    [FloraTarget] public static Linear Shared { get; } = Linear(4, 4);"), false);
        yield return new("target on an expression-bodied property", Model("    [FloraTarget] public Linear Fresh => Linear(4, 4);"), false);
        yield return new("target of a type parameter type", "public partial class G<T> : Module<Tensor, Tensor> where T : Module<Tensor, Tensor> { [FloraTarget] private readonly T? layer; public G() : base(\"G\") { } public override Tensor forward(Tensor x) => x; }", false);
        yield return new("target twice", Model("    [FloraTarget, FloraTarget] private readonly Linear fc = Linear(4, 4);"), false);
        yield return new("model twice", Model("    [FloraTarget] private readonly Linear fc = Linear(4, 4);", "[FloraModel][FloraModel]"), false);
        yield return new("model on a static class", "[FloraModel] public static partial class S { [FloraTarget] private static readonly Linear fc = Linear(4, 4); }", false);
        yield return new("model on an abstract class", "[FloraModel] public abstract partial class A : Module<Tensor, Tensor> { [FloraTarget] protected Linear fc = Linear(4, 4); protected A() : base(\"A\") { } }", true);
        yield return new("model on a record struct", "[FloraModel] public partial record struct R([property: FloraTarget] Linear Fc);", false);
        yield return new("target on a positional record property", "public partial record R([property: FloraTarget] Linear Fc);", false);
        yield return new("target in a file-local type (FLORA001: the generator cannot extend it)", "file partial class F : Module<Tensor, Tensor> { [FloraTarget] private readonly Linear fc = Linear(4, 4); public F() : base(\"F\") { } public override Tensor forward(Tensor x) => x; }", false);
        yield return new("target in a generic model with a constraint", "public partial class G<T> : Module<Tensor, Tensor> where T : struct { [FloraTarget(Rank = 2)] private readonly Conv1d c = Conv1d(4, 4, 3); public G() : base(\"G\") { } public override Tensor forward(Tensor x) => x; }", true);
        yield return new("model deriving from a model", """
            [FloraModel(Rank = 2)]
            public partial class Parent : Module<Tensor, Tensor>
            {
                [FloraTarget] protected readonly Linear fc = Linear(4, 4);
                protected Parent(string name) : base(name) { }
                public override Tensor forward(Tensor x) => fc.call(x);
            }

            [FloraModel(Rank = 4)]
            public partial class Child : Parent
            {
                [FloraTarget(Rank = 3)] private readonly Conv1d conv = Conv1d(4, 4, 3);
                public Child() : base(nameof(Child)) => RegisterComponents();
            }
            """, true);
        yield return new("model in a top-level program", "var m = 1;\n[FloraModel] partial class P : Module<Tensor, Tensor> { [FloraTarget] Linear fc = Linear(4, 4); public P() : base(\"P\") { } public override Tensor forward(Tensor x) => x; }", false);
    }

    public static IEnumerable<CorpusInput> WrongArgumentTypes()
    {
        string[] targets =
        {
            "Rank = \"8\"", "Rank = 1.5", "Rank = null", "Scale = \"x\"", "Scale = true", "8", "Ranks = 8", "Rank = Undefined",
            "Rank = nameof(fc)", "Rank = new[] { 1 }", "Rank = int.MaxValue", "Rank = int.MinValue", "R3 = int.MaxValue",
            "Rank = checked(int.MaxValue + 1)", "Scale = float.NaN", "Scale = 1 / 0.0", "Scale = -0.0", "Rank = (int)'a'",
            "Rank = 2, Rank = 3", "OutRank = 4, InRank = int.MaxValue, R3 = 0", "Scale = 1e308 * 10", "Rank = default",
            "Rank = (byte)3", "Scale = 3", "Scale = 0.4f", "Rank = 3L", "Rank = 08", "Rank = 0x10",
        };
        int i = 0;
        foreach (var t in targets)
            yield return new("target(" + t + ") #" + i++, Model($"    [FloraTarget({t})] private readonly Conv2d fc = Conv2d(3, 8, 3);"), false);
        string[] models =
        {
            "MaxTrainableParameters = 1.5", "MaxTrainableParameters = -5", "MaxTrainableParameters = long.MaxValue",
            "MaxTrainableParameters = long.MinValue", "MaxTrainableParameters = \"1\"", "Rank = -1, R3 = 0, Scale = double.NaN",
            "MaxTrainableParameters = 1", "Rank = int.MaxValue, R3 = int.MaxValue, MaxTrainableParameters = 1",
        };
        foreach (var m in models)
            yield return new("model(" + m + ") #" + i++, Model("    [FloraTarget] private readonly Conv2d fc = Conv2d(3, 8, 3);", $"[FloraModel({m})]"), false);
    }

    public static IEnumerable<CorpusInput> TypeKinds()
    {
        yield return new("record with a target", "public partial record R { [FloraTarget] public Linear Fc { get; init; } = Linear(4, 4); }", false);
        yield return new("record struct with a target", "public partial record struct RS { [FloraTarget] public Linear Fc { get; init; } }", false);
        yield return new("struct with a target", "public partial struct S { [FloraTarget] public Conv2d Conv; }", false);
        yield return new("interface with a target", "public partial interface I { [FloraTarget] Linear Fc { get; } }", false);
        yield return new("interface with a default target", "public partial interface I { [FloraTarget] Linear Fc => Linear(4, 4); }", false);
        yield return new("interface with a static target", "public partial interface I { [FloraTarget] static Linear Fc = Linear(4, 4); }", false);
        yield return new("enum with targets", "public enum E { [FloraTarget] A = 1, [FloraTarget] B = 2 }", false);
        yield return new("class deriving from a layer", "public partial class L : Module<Tensor, Tensor> { [FloraTarget] private readonly Sequential seq = Sequential(); public L() : base(\"L\") { } public override Tensor forward(Tensor x) => x; }", false);
        yield return new("model deriving from Sequential", "[FloraModel] public partial class Q : TorchSharp.Modules.Sequential { [FloraTarget] private readonly Linear fc = Linear(4, 4); public Q() : base() { } }", false);
        yield return new("nested non-partial in a record", "public record Holder { [FloraModel] public class M : Module<Tensor, Tensor> { [FloraTarget] Linear fc = Linear(4, 4); public M() : base(\"M\") { } public override Tensor forward(Tensor x) => x; } }", false);
        yield return new("deeply nested non-partial", "public class A { public struct B { public partial class C { public class D : Module<Tensor, Tensor> { [FloraTarget] Conv1d c = Conv1d(2, 2, 1); public D() : base(\"D\") { } public override Tensor forward(Tensor x) => x; } } } }", false);
        yield return new("model with a module of three types", "[FloraModel] public partial class T3 : Module<Tensor, Tensor, Tensor> { [FloraTarget] Linear fc = Linear(4, 4); public T3() : base(\"T3\") { } public override Tensor forward(Tensor x, Tensor y) => x; }", true);
        yield return new("model with an unresolved base", "[FloraModel] public partial class U : Modul<Tensor, Tensor> { [FloraTarget] Linear fc = Linear(4, 4); }", false);
        yield return new("model deriving from itself", "[FloraModel] public partial class Self : Self { [FloraTarget] Linear fc = Linear(4, 4); }", false);
        yield return new("two models deriving from each other", "[FloraModel] public partial class A : B { [FloraTarget] Linear fc = Linear(4, 4); } [FloraModel] public partial class B : A { }", false);
    }

    public static IEnumerable<CorpusInput> ConstantsOutOfRange()
    {
        string[] layers =
        {
            "Linear(0, 4)", "Linear(-1, 4)", "Linear(4, 0)", "Linear(int.MaxValue, int.MaxValue)", "Linear(long.MaxValue, 2)",
            "Linear(long.MaxValue, long.MaxValue)", "Conv2d(3, 8, 0)", "Conv2d(3, 8, -3)", "Conv2d(3, 8, (3, 0))", "Conv2d(4, 8, 3, groups: 3)",
            "Conv2d(4, 8, 3, groups: 0)", "Conv2d(4, 8, 3, groups: -4)", "Conv2d(3, 8, (3, 3, 3))", "Conv1d(3, 8, (3, 3))", "Conv3d(3, 8, (3, 3))",
            "Conv3d(1 << 20, 1 << 20, 1 << 10)", "Conv2d(3, 8, long.MaxValue)", "Conv1d(int.MaxValue, int.MaxValue, int.MaxValue, groups: int.MaxValue)",
            "Conv2d(0, 0, 0)", "Conv3d(2, 4, (1, 0, 1))",
        };
        int i = 0;
        foreach (var layer in layers)
        {
            string type = layer.Substring(0, layer.IndexOf('('));
            yield return new($"{layer} #{i++}", Model($"    [FloraTarget(Rank = int.MaxValue, R3 = 5)] private readonly {type} a = {layer};", "[FloraModel(MaxTrainableParameters = 1)]"), false);
            yield return new($"{layer} inherited #{i++}", Model($"    [FloraTarget] private readonly {type} a = {layer};", "[FloraModel(Rank = int.MaxValue, R3 = int.MaxValue, MaxTrainableParameters = 1)]"), false);
        }
        // Counts near long.MaxValue: one target, then several whose sum overflows.
        yield return new("one huge Linear", Model("    [FloraTarget] private readonly Linear a = Linear(576460752303423488L, 1);", "[FloraModel(MaxTrainableParameters = 1)]"), false);
        yield return new("huge Linears over the budget", Model("""
                [FloraTarget] private readonly Linear a = Linear(576460752303423488L, 1);
                [FloraTarget] private readonly Linear b = Linear(576460752303423488L, 1);
            """, "[FloraModel(MaxTrainableParameters = 1)]"), false);
    }

    public static IEnumerable<CorpusInput> UnresolvedNames()
    {
        yield return new("unresolved width", Model("    [FloraTarget] private readonly Linear fc = Linear(Width, 4);"), false);
        yield return new("unresolved layer type", Model("    [FloraTarget] private readonly Linr fc = Linear(4, 4);"), false);
        yield return new("unresolved kernel", Model("    [FloraTarget(R3 = 2)] private readonly Conv2d c = Conv2d(3, 8, k);"), false);
        yield return new("unresolved attribute", Model("    [FloraTargett] private readonly Linear fc = Linear(4, 4);"), false);
        yield return new("unresolved factory", Model("    [FloraTarget] private readonly Linear fc = Linearr(4, 4);"), false);
        yield return new("unresolved module", Model("    [FloraTarget] private readonly Module<Tensor, Tensor> m = Make();"), false);
        yield return new("fully qualified factories", Model("""
                [FloraTarget(Rank = 2)] private readonly Linear fc = TorchSharp.torch.nn.Linear(4, 4);
                [FloraTarget(R3 = 2)] private readonly TorchSharp.Modules.Conv2d c = TorchSharp.torch.nn.Conv2d(3, 8, 3);
            """), true);
        yield return new("assignment through a tuple", Model("""
                [FloraTarget] private readonly Linear a;
                [FloraTarget] private readonly Linear b;
                public Odd(int w) : base("Odd") { (a, b) = (Linear(4, 4), Linear(w, 4)); }
            """), true);
        yield return new("chained assignment", Model("""
                [FloraTarget] private readonly Linear a;
                [FloraTarget] private readonly Linear b;
                public Odd(bool unused) : base("Odd") { a = b = Linear(4, 4); }
            """), true);
        yield return new("null-coalescing assignment", Model("""
                [FloraTarget] private Linear? a;
                public Odd(bool unused) : base("Odd") { a ??= Linear(4, 4); }
            """), true);
        yield return new("assignment in a lambda", Model("""
                [FloraTarget] private Linear? a;
                public Odd(bool unused) : base("Odd") { System.Action set = () => a = Linear(4, 4); set(); }
            """), true);
        yield return new("assignment in a local function", Model("""
                [FloraTarget] private Linear? a;
                public Odd(bool unused) : base("Odd") { void Set() => a = Linear(4, 4); Set(); }
            """), true);
        yield return new("assigned twice", Model("""
                [FloraTarget(Rank = 64)] private readonly Linear a;
                public Odd(int w) : base("Odd") { a = Linear(4, 4); }
                public Odd(long w) : base("Odd") { a = Linear(8, 8); }
            """), true);
        yield return new("constructor chaining", Model("""
                [FloraTarget] private readonly Linear a;
                public Odd(int w) : this() { }
            """).Replace("public Odd() : base(\"Odd\") => RegisterComponents();", "public Odd() : base(\"Odd\") { a = Linear(4, 4); RegisterComponents(); }"), true);
        yield return new("assigned from a method", Model("""
                [FloraTarget] private readonly Linear a;
                public Odd(int w) : base("Odd") { a = Make(w); }
                private static Linear Make(int w) => Linear(w, w);
            """), true);
        yield return new("named and reordered arguments", Model("""
                [FloraTarget(Rank = 2)] private readonly Linear a = Linear(outputSize: 4, inputSize: 3);
                [FloraTarget(R3 = 1)] private readonly Conv2d c = Conv2d(kernel_size: 3, out_channels: 8, in_channels: 4, groups: 2);
            """), true);
        yield return new("missing Flora reference in usings", "public partial class NoUsing : TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor> { [Flora.FloraTarget] private readonly TorchSharp.Modules.Linear fc = TorchSharp.torch.nn.Linear(4, 4); public NoUsing() : base(\"N\") { } public override TorchSharp.torch.Tensor forward(TorchSharp.torch.Tensor x) => x; }", true);
        yield return new("a user type named FloraTarget", "namespace Other { public sealed class FloraTargetAttribute : System.Attribute { } public class C { [FloraTarget] public int X; } }", true);
    }

    /// <summary>[FloraModuleToSave], LoraRank, LoraAlpha and SaveNormLayers in odd places and with odd values.</summary>
    public static IEnumerable<CorpusInput> ModulesToSaveAndLora()
    {
        yield return new("module to save on a method", Model("    [FloraModuleToSave] public Linear Make() => Linear(4, 4);"), false);
        yield return new("module to save on a class", "[FloraModuleToSave] public partial class C : Module<Tensor, Tensor> { public C() : base(\"C\") { } public override Tensor forward(Tensor x) => x; }", false);
        yield return new("module to save on a parameter", Model("    public void Use([FloraModuleToSave] Linear layer) { }"), false);
        yield return new("module to save on the assembly", "[assembly: FloraModuleToSave]\npublic class C { }", false);
        yield return new("module to save twice", Model("    [FloraModuleToSave, FloraModuleToSave] private readonly Linear fc = Linear(4, 4);"), false);
        yield return new("module to save with arguments", Model("    [FloraModuleToSave(4)] private readonly Linear fc = Linear(4, 4);"), false);
        yield return new("module to save on an event", Model("    [FloraModuleToSave] public event System.Action? Changed;"), false);
        yield return new("module to save on a const", Model("    [FloraModuleToSave] private const int Width = 4;"), false);
        yield return new("module to save on an enum member", "public enum E { [FloraModuleToSave] A, B }", false);
        yield return new("module to save on a backing field", Model("    [field: FloraModuleToSave] public Linear Fc { get; } = Linear(4, 4);"), false);
        yield return new("module to save on an expression-bodied property", Model("    [FloraModuleToSave] public Linear Fresh => Linear(4, 4);"), false);
        yield return new("module to save and target in two lists", Model("    [FloraTarget]\n    [FloraModuleToSave]\n    private readonly Linear fc = Linear(4, 4);"), false);
        yield return new("module to save of an unconstrained type parameter", "public partial class G<T> : Module<Tensor, Tensor> { [FloraModuleToSave] private readonly T? layer; public G() : base(\"G\") { } public override Tensor forward(Tensor x) => x; }", false);
        yield return new("module to save in a struct", "public partial struct S { [FloraModuleToSave] public Linear Fc; }", false);
        yield return new("module to save in an interface", "public partial interface I { [FloraModuleToSave] Linear Fc { get; } }", false);
        yield return new("module to save in a record", "public partial record R([property: FloraModuleToSave] Linear Fc);", false);
        yield return new("module to save typed dynamic", Model("    [FloraModuleToSave] private readonly dynamic d = Linear(4, 4);"), false);
        yield return new("module to save of an unresolved type", Model("    [FloraModuleToSave] private readonly Missing m = Linear(4, 4);"), false);
        yield return new("module to save with an unresolved factory", Model("    [FloraModuleToSave] private readonly Linear m = Linearr(4, 4);"), false);
        yield return new("module to save in a file-local type", "file partial class F : Module<Tensor, Tensor> { [FloraModuleToSave] private readonly Linear fc = Linear(4, 4); public F() : base(\"F\") { } public override Tensor forward(Tensor x) => x; }", false);
        string[] modules =
        {
            "LayerNorm m = LayerNorm(new long[0])", "LayerNorm m = LayerNorm(new long[] { })", "LayerNorm m = LayerNorm([])",
            "LayerNorm m = LayerNorm(new long[] { 4, -4 })", "LayerNorm m = LayerNorm([long.MaxValue, long.MaxValue])",
            "LayerNorm m = LayerNorm([..Shape])", "LayerNorm m = LayerNorm(new long[2, 2])", "LayerNorm m = LayerNorm(new long[Width])",
            "GroupNorm m = GroupNorm(0, 0)", "GroupNorm m = GroupNorm(-2, 4)", "GroupNorm m = GroupNorm(long.MaxValue, long.MaxValue)",
            "Embedding m = Embedding(-1, 4)", "Embedding m = Embedding(long.MaxValue, long.MaxValue)", "BatchNorm2d m = BatchNorm2d(long.MaxValue)",
            "BatchNorm2d m = BatchNorm2d(0)", "Conv2d m = Conv2d(long.MaxValue, long.MaxValue, long.MaxValue)", "Linear m = Linear(long.MaxValue, long.MaxValue)",
            "Linear m = Linear(long.MaxValue, 1, hasBias: true)", "Conv3d m = Conv3d(4, 8, (3, 3, 0))", "Linear m = Linear(4, 4, hasBias: Flag)",
            "Module<Tensor, Tensor> m = Sequential(Linear(4, 4), LayerNorm(4))", "Dropout m = Dropout(0.5)",
        };
        int i = 0;
        foreach (var module in modules)
        {
            string members = $"    private static readonly long[] Shape = {{ 4 }};\n    private const int Width = 4;\n    private static bool Flag => true;\n    [FloraModuleToSave] private readonly {module};";
            yield return new($"module to save {module} #{i++}", Model(members, "[FloraModel(MaxTrainableParameters = 1)]"), false);
            yield return new($"module to save {module} with a target #{i++}", Model(members + "\n    [FloraTarget] private readonly Linear fc = Linear(4, 4);", "[FloraModel(SaveNormLayers = true, MaxTrainableParameters = 1)]"), false);
        }
        string[] targets =
        {
            "LoraRank = int.MinValue", "LoraRank = int.MaxValue", "LoraRank = -0", "LoraRank = 1.5", "LoraRank = \"8\"", "LoraRank = null",
            "LoraAlpha = double.MaxValue", "LoraAlpha = \"x\"", "LoraAlpha = float.NaN", "LoraAlpha = -double.Epsilon", "LoraAlpha = 1 / 0.0",
            "LoraRank = 2, LoraRank = 3", "LoraRank = Undefined", "LoraRank = -1, Rank = -1, LoraAlpha = -1, Scale = -1",
        };
        foreach (var t in targets)
            yield return new("target(" + t + ") #" + i++, Model($"    [FloraTarget({t})] private readonly Conv2d fc = Conv2d(3, 8, 3);", "[FloraModel(LoraRank = 4)]"), false);
        string[] models =
        {
            "LoraRank = int.MaxValue", "LoraRank = int.MinValue", "LoraAlpha = double.NaN", "SaveNormLayers = 1", "SaveNormLayers = \"true\"",
            "LoraRank = -3, LoraAlpha = -3, SaveNormLayers = true, MaxTrainableParameters = 1",
        };
        foreach (var m in models)
            yield return new("model(" + m + ") #" + i++, Model("    [FloraTarget] private readonly Linear fc = Linear(4, 4);\n    private readonly BatchNorm2d bn = BatchNorm2d(Width);\n    private const int Width = 4;", $"[FloraModel({m})]"), false);

        // Correct code: no Flora diagnostic, no compiler error.
        yield return new("transfer model with modules to save and LoRA ranks", """
            [FloraModel(Rank = 4, LoraRank = 8, LoraAlpha = 16, SaveNormLayers = true, MaxTrainableParameters = 100_000)]
            public partial class Transfer : Module<Tensor, Tensor>
            {
                [FloraTarget(LoraRank = 2)] private readonly Conv2d stem = Conv2d(1, 8, 3, padding: 1);
                [FloraTarget] private readonly Linear fc = Linear(64, 64);
                private readonly BatchNorm2d bn = BatchNorm2d(8);
                [FloraModuleToSave] public Linear Head { get; set; } = Linear(64, 10);
                [FloraModuleToSave] private readonly LayerNorm norm = LayerNorm(new long[] { 64 });
                [FloraModuleToSave] private readonly Sequential extra = Sequential(Linear(10, 10));
                public Transfer() : base(nameof(Transfer)) => RegisterComponents();
                public override Tensor forward(Tensor x) => Head.call(norm.call(fc.call(bn.call(stem.call(x)).flatten(1))));
            }
            """, true);
        yield return new("module to save assigned in a constructor", Model("""
                [FloraModuleToSave] private readonly Linear head;
                [FloraModuleToSave] private readonly GroupNorm gn;
                public Odd(int classes) : base("Odd") { head = Linear(4, classes); gn = GroupNorm(2, 4); }
            """, "[FloraModel(MaxTrainableParameters = 1_000)]"), true);
    }
}
