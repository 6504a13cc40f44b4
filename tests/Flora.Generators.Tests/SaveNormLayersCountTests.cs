using System.Linq;
using Flora.Generators.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Xunit;
using static Flora.Generators.Tests.Infrastructure.TestCompiler;

namespace Flora.Generators.Tests;

/// <summary>
/// <c>FloraTrainableParameters</c> under <c>[FloraModel(SaveNormLayers = true)]</c>: the runtime trains and saves every
/// BatchNorm, LayerNorm, GroupNorm and InstanceNorm of the module tree, so the constant adds their affine parameters
/// (TorchSharp's defaults: BatchNorm and GroupNorm affine, LayerNorm elementwise_affine with a bias, InstanceNorm not
/// affine) when the model's source shows every module; otherwise it is left out (FLORA013 says why).
/// </summary>
public sealed class SaveNormLayersCountTests
{
    /// <summary>fc Linear(16, 16) at Rank 4: 16 + 64 + 64 = 144.</summary>
    private const long Target = 144;

    private const string TargetMember = "[FloraTarget] private readonly Linear fc = Linear(16, 16);";

    [Fact]
    public void A_literal_BatchNorm_adds_its_weight_and_bias()
    {
        Assert.Equal(Target + 2 * 32, Count(TargetMember + "\nprivate readonly BatchNorm2d bn = BatchNorm2d(32);"));
    }

    [Fact]
    public void Every_norm_kind_counts_its_affine_parameters_only()
    {
        const string members = """
            private readonly BatchNorm1d bn1 = BatchNorm1d(8);                                   // 16
            private readonly BatchNorm3d bn3 = BatchNorm3d(4, affine: false);                    // 0
            private readonly LayerNorm ln = LayerNorm(16);                                       // 32
            private readonly LayerNorm lnNoBias = LayerNorm(new long[] { 4, 8 }, bias: false);   // 32
            private readonly LayerNorm lnPlain = LayerNorm(8, elementwise_affine: false);        // 0
            private readonly GroupNorm gn = GroupNorm(2, 8);                                     // 16
            private readonly GroupNorm gnPlain = GroupNorm(2, 8, affine: false);                 // 0
            private readonly InstanceNorm2d inorm = InstanceNorm2d(8);                           // 0
            private readonly InstanceNorm1d inormAffine = InstanceNorm1d(4, affine: true);       // 8
            """;
        Assert.Equal(Target + 16 + 32 + 32 + 16 + 8, Count(TargetMember + "\n" + members));
    }

    [Fact]
    public void Layers_without_child_modules_add_nothing_and_hide_nothing()
    {
        const string members = """
            private readonly ReLU relu = ReLU();
            private readonly Dropout drop = Dropout(0.1);
            private readonly MaxPool2d pool = MaxPool2d(2);
            private readonly Flatten flat = Flatten();
            private readonly Linear extra;                              // a layer of run-time size holds no modules either
            private readonly Module<Tensor, Tensor> act = GELU();
            private readonly Conv2d frozen = Conv2d(3, 3, 3);
            private readonly Embedding tokens = Embedding(10, 4);
            private readonly int width = 4;
            private readonly Tensor scale = torch.ones(1);
            """;
        Assert.Equal(Target, Count(TargetMember + "\n" + members));
    }

    [Fact]
    public void A_norm_layer_that_is_also_a_module_to_save_counts_once()
    {
        Assert.Equal(Target + 2 * 16,
            Count(TargetMember + "\n[FloraModuleToSave] private readonly BatchNorm2d bn = BatchNorm2d(16);"));
    }

    [Fact]
    public void Auto_properties_count_and_properties_over_a_field_do_not_count_twice()
    {
        const string members = """
            public BatchNorm2d Norm { get; } = BatchNorm2d(4);                    // 8, registered through its backing field
            private readonly BatchNorm2d bn = BatchNorm2d(6);                     // 12
            public BatchNorm2d Bn => bn;                                          // the same module: no field of its own
            private readonly Module<Tensor, Tensor> norm = LayerNorm(10);         // 20, read from the factory call
            private static readonly BatchNorm2d shared = BatchNorm2d(100);        // static: not registered
            """;
        Assert.Equal(Target + 8 + 12 + 20, Count(TargetMember + "\n" + members));
    }

    [Fact]
    public void A_target_whose_shape_is_literal_in_a_constructor_assignment_counts_with_its_norm()
    {
        const string members = """
            [FloraTarget] private readonly Linear fc;
            private readonly LayerNorm ln;
            """;
        // The single constructor assignment of each member gives its size (as for targets).
        Assert.Equal(Target + 32, Count(members, constructorBody: "fc = Linear(16, 16); ln = LayerNorm(16);"));
    }

    [Theory]
    [InlineData("private readonly Sequential body = Sequential(Linear(4, 4), BatchNorm1d(4));")]
    [InlineData("private readonly Module<Tensor, Tensor> body = Sequential(Linear(4, 4), ReLU());")]
    [InlineData("private readonly ModuleList<Linear> layers = ModuleList(Linear(4, 4));")]
    [InlineData("private readonly BatchNorm2d bn = BatchNorm2d(Width);")]
    [InlineData("private readonly Block block = new Block();")]
    [InlineData("private readonly MultiheadAttention attention = MultiheadAttention(8, 2);")]
    [InlineData("private readonly Module<Tensor, Tensor> unknown = MakeLayer();")]
    public void A_member_whose_modules_cannot_be_seen_leaves_the_constant_out(string member)
    {
        Assert.Null(Count(TargetMember + "\n" + member));
        // Without SaveNormLayers nothing of it counts, and the constant stays.
        Assert.Equal(Target, Count(TargetMember + "\n" + member, saveNormLayers: false));
    }

    [Fact]
    public void A_nested_Flora_model_counts_its_parts_at_the_outer_model_s_ranks_and_its_norm_layers_under_SaveNormLayers()
    {
        // Inner's fc Linear(16, 16) at M's Rank 4 (not Inner's 8): 144; Inner's bn BatchNorm1d(16): 32 under M's SaveNormLayers.
        Assert.Equal(Target + 144 + 32, Count(TargetMember + "\nprivate readonly Inner inner = new Inner();"));
        Assert.Equal(Target + 144, Count(TargetMember + "\nprivate readonly Inner inner = new Inner();", saveNormLayers: false));
        Assert.Equal(Target + 2 * (144 + 32), Count(TargetMember + "\nprivate readonly Inner first = new();\npublic Inner Second { get; } = new Inner();"));
    }

    [Theory]
    [InlineData("private readonly ModuleList<Inner> blocks = ModuleList(new Inner(), new Inner());")]
    [InlineData("private readonly Inner inner = MakeInner();")]
    [InlineData("private readonly Inner inner;\npublic M(bool deep) : this() => inner = deep ? new Inner() : null!;")]
    [InlineData("private readonly Inner inner = new Inner();\npublic Inner Alias => inner;")]
    public void A_nested_Flora_model_the_compilation_does_not_pin_down_leaves_the_constant_out(string member)
    {
        Assert.Null(Count(TargetMember + "\n" + member));
        Assert.Null(Count(TargetMember + "\n" + member, saveNormLayers: false));
    }

    [Fact]
    public void A_norm_layer_built_from_a_constructor_argument_leaves_the_constant_out()
    {
        Assert.Null(Count(TargetMember + "\nprivate readonly BatchNorm2d bn;\npublic M(int c) : this() => bn = BatchNorm2d(c);"));
    }

    [Fact]
    public void Modules_registered_by_name_leave_the_constant_out()
    {
        Assert.Null(Count(TargetMember, constructorBody: "register_module(\"extra\", BatchNorm1d(4));"));
    }

    [Fact]
    public void A_model_deriving_from_a_module_of_its_own_leaves_the_constant_out()
    {
        Assert.Null(Count(TargetMember, baseType: "Trunk"));
        Assert.Equal(Target, Count(TargetMember, baseType: "Trunk", saveNormLayers: false));
    }

    [Fact]
    public void The_constant_s_comment_names_the_norm_layers()
    {
        var run = Run(Model(TargetMember + "\nprivate readonly BatchNorm2d bn = BatchNorm2d(32);", saveNormLayers: true, "", "Module<Tensor, Tensor>"));
        run.AssertCompilesCleanly();
        string text = run.Source("M.Flora.g.cs");
        Assert.Contains("the affine parameters of every norm layer SaveNormLayers trains).", text);
        Assert.Contains("public const long FloraTrainableParameters = 208L;", text);
    }

    /// <summary>
    /// Builds <c>M</c> (with <c>[FloraModel(Rank = 4, SaveNormLayers = …)]</c>) and a few helper types, and reads its
    /// <c>FloraTrainableParameters</c>, or null when it is left out.
    /// </summary>
    private static long? Count(string members, bool saveNormLayers = true, string constructorBody = "", string baseType = "Module<Tensor, Tensor>")
    {
        var run = Run(Model(members, saveNormLayers, constructorBody, baseType));
        run.AssertGeneratorDidNotFail();
        Assert.Empty(run.GeneratedCodeProblems);
        var field = run.Output.GetTypeByMetadataName("M")!.GetMembers("FloraTrainableParameters").OfType<IFieldSymbol>().SingleOrDefault();
        if (field is null) return null;
        Assert.True(field.IsConst);
        return Assert.IsType<long>(field.ConstantValue);
    }

    private static string Model(string members, bool saveNormLayers, string constructorBody, string baseType) => Usings + $$"""
        [FloraModel(Rank = 4, SaveNormLayers = {{(saveNormLayers ? "true" : "false")}})]
        public partial class M : {{baseType}}
        {
            private static int Width => 8;
            private static Module<Tensor, Tensor> MakeLayer() => BatchNorm1d(4);
            private static Inner MakeInner() => new Inner();
            public M() : base(nameof(M)) { {{constructorBody}} RegisterComponents(); }
            public override Tensor forward(Tensor x) => x;
        {{members}}
        }

        public class Block : Module<Tensor, Tensor>
        {
            private readonly BatchNorm1d bn = BatchNorm1d(4);
            public Block() : base(nameof(Block)) => RegisterComponents();
            public override Tensor forward(Tensor x) => bn.call(x);
        }

        [FloraModel]
        public partial class Inner : Module<Tensor, Tensor>
        {
            [FloraTarget] private readonly Linear fc = Linear(16, 16);
            private readonly BatchNorm1d bn = BatchNorm1d(16);
            public Inner() : base(nameof(Inner)) => RegisterComponents();
            public override Tensor forward(Tensor x) => bn.call(fc.call(x));
        }

        public abstract class Trunk : Module<Tensor, Tensor>
        {
            protected Trunk(string name) : base(name) { }
        }
        """;
}
