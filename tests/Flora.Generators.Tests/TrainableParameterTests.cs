using System.Linq;
using Flora.Generators.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Xunit;
using static Flora.Generators.Tests.Infrastructure.TestCompiler;

namespace Flora.Generators.Tests;

/// <summary>
/// <c>FloraTrainableParameters</c> against counts worked out by hand: <c>Π r_n + Σ I_n·r_n</c> over the modes
/// <c>[out, in/groups, k…]</c>, each rank clamped to its mode.
/// </summary>
public sealed class TrainableParameterTests
{
    [Fact]
    public void Linear_with_the_default_rank()
    {
        // [10, 64], r = 8, 8: core 8·8, factors 10·8 + 64·8.
        Assert.Equal(8 * 8 + 10 * 8 + 64 * 8, Count("[FloraTarget] private readonly Linear fc = Linear(64, 10);"));
    }

    [Fact]
    public void Linear_rank_64_clamps_to_both_modes()
    {
        // [10, 16], Rank 64 → r_out 10, r_in 16.
        Assert.Equal(10 * 16 + 10 * 10 + 16 * 16, Count("[FloraTarget(Rank = 64)] private readonly Linear fc = Linear(16, 10);"));
    }

    [Fact]
    public void Conv2d_inherits_rank_and_R3_from_the_model()
    {
        // [64, 32, 3, 3], r = 8, 8, 2, 2.
        Assert.Equal(8 * 8 * 2 * 2 + 64 * 8 + 32 * 8 + 3 * 2 + 3 * 2,
            Count("[FloraTarget] private readonly Conv2d conv = Conv2d(32, 64, 3, padding: 1);", "[FloraModel(R3 = 2)]"));
    }

    [Fact]
    public void Conv2d_in_rank_clamps_to_a_single_input_channel()
    {
        // SmallCnn's conv1: [32, 1, 3, 3], Rank 16, R3 2 → r = 16, 1, 2, 2.
        Assert.Equal(16 * 1 * 2 * 2 + 32 * 16 + 1 * 1 + 3 * 2 + 3 * 2,
            Count("[FloraTarget(Rank = 16, R3 = 2)] private readonly Conv2d conv1 = Conv2d(1, 32, 3, padding: 1);"));
    }

    [Fact]
    public void Depthwise_conv_has_r_in_1()
    {
        // [32, 32/32 = 1, 7, 7] → r = 8, 1, 1, 1.
        Assert.Equal(8 * 1 * 1 * 1 + 32 * 8 + 1 * 1 + 7 * 1 + 7 * 1,
            Count("[FloraTarget] private readonly Conv2d dw = Conv2d(32, 32, 7, padding: 3, groups: 32);"));
    }

    [Fact]
    public void Grouped_conv_uses_in_over_groups()
    {
        // [64, 32/4 = 8, 3, 3], Rank 4 → r = 4, 4, 1, 1.
        Assert.Equal(4 * 4 + 64 * 4 + 8 * 4 + 3 + 3,
            Count("[FloraTarget(Rank = 4)] private readonly Conv2d g = Conv2d(32, 64, 3, groups: 4);"));
    }

    [Fact]
    public void Explicit_OutRank_and_InRank()
    {
        // [12, 6, 3], OutRank 2, InRank 3, R3 1.
        Assert.Equal(2 * 3 * 1 + 12 * 2 + 6 * 3 + 3 * 1,
            Count("[FloraTarget(OutRank = 2, InRank = 3)] private readonly Conv1d c = Conv1d(6, 12, 3);"));
    }

    [Fact]
    public void OutRank_alone_leaves_the_in_mode_at_Rank()
    {
        // [10, 16], OutRank 5, r_in = model Rank 4.
        Assert.Equal(5 * 4 + 10 * 5 + 16 * 4,
            Count("[FloraTarget(OutRank = 5)] private readonly Linear fc = Linear(16, 10);", "[FloraModel(Rank = 4)]"));
    }

    [Fact]
    public void An_inherited_R3_clamps_silently_on_a_1x1_conv()
    {
        // [16, 8, 1, 1], model R3 2 → r = 8, 8, 1, 1.
        Assert.Equal(8 * 8 + 16 * 8 + 8 * 8 + 1 + 1,
            Count("[FloraTarget] private readonly Conv2d pw = Conv2d(8, 16, 1);", "[FloraModel(R3 = 2)]"));
    }

    [Fact]
    public void Conv3d_with_a_tuple_kernel()
    {
        // [4, 2, 3, 3, 1], r = 4, 2, 1, 1, 1.
        Assert.Equal(4 * 2 + 4 * 4 + 2 * 2 + 3 + 3 + 1,
            Count("[FloraTarget] private readonly Conv3d v = Conv3d(2, 4, (3, 3, 1));"));
    }

    [Fact]
    public void Scale_does_not_change_the_count()
    {
        Assert.Equal(Count("[FloraTarget] private readonly Linear fc = Linear(64, 10);"),
            Count("[FloraTarget(Scale = 4)] private readonly Linear fc = Linear(64, 10);", "[FloraModel(Scale = 0.04)]"));
    }

    [Fact]
    public void The_count_sums_every_target()
    {
        long expected = (8 * 8 + 10 * 8 + 64 * 8) + (8 * 1 + 32 * 8 + 1 + 7 + 7);
        Assert.Equal(expected, Count("""
            [FloraTarget] private readonly Linear fc = Linear(64, 10);
            [FloraTarget] private readonly Conv2d dw = Conv2d(32, 32, 7, padding: 3, groups: 32);
            """));
    }

    [Fact]
    public void No_constant_when_an_explicit_R3_exceeds_a_kernel_axis()
    {
        // FLORA004: a run-time error, so no count.
        Assert.Null(Count("[FloraTarget(R3 = 5)] private readonly Conv2d conv = Conv2d(3, 3, 3);"));
    }

    [Fact]
    public void No_constant_when_a_rank_is_below_one()
    {
        Assert.Null(Count("[FloraTarget(Rank = 0)] private readonly Linear fc = Linear(4, 4);"));
        Assert.Null(Count("[FloraTarget(InRank = -1)] private readonly Linear fc = Linear(4, 4);"));
        Assert.Null(Count("[FloraTarget] private readonly Linear fc = Linear(4, 4);", "[FloraModel(Rank = 0)]"));
        Assert.Null(Count("[FloraTarget] private readonly Conv2d conv = Conv2d(4, 4, 3);", "[FloraModel(R3 = 0)]"));
    }

    [Fact]
    public void No_constant_when_one_shape_is_unknown()
    {
        Assert.Null(Count("""
            private static int width = 4;
            [FloraTarget] private readonly Linear known = Linear(4, 4);
            [FloraTarget] private readonly Linear unknown = Linear(width, 4);
            """));
    }

    [Fact]
    public void No_constant_when_groups_do_not_divide_the_channels()
    {
        Assert.Null(Count("[FloraTarget] private readonly Conv2d conv = Conv2d(6, 8, 3, groups: 4);"));
    }

    [Fact]
    public void Embedding_counts_its_num_embeddings_and_dim_modes()
    {
        // [100, 32] (num_embeddings, dim), Rank 8 → r = 8, 8: core 8·8, factors 100·8 + 32·8.
        Assert.Equal(8 * 8 + 100 * 8 + 32 * 8, Count("[FloraTarget] private readonly Embedding emb = Embedding(100, 32);"));
        // OutRank is mode 0 (num_embeddings), InRank mode 1 (dim), each clamped to its size.
        Assert.Equal(6 * 4 + 100 * 6 + 4 * 4, Count("[FloraTarget(OutRank = 6, InRank = 64)] private readonly Embedding emb = Embedding(100, 4, padding_idx: 0);"));
    }

    [Fact]
    public void MultiheadAttention_counts_one_adapter_on_in_proj_and_one_on_out_proj()
    {
        // E = 16: in_proj_weight [48, 16] at Rank 8 → core 8·8, factors 48·8 + 16·8; out_proj.weight [16, 16] → 8·8 + 16·8 + 16·8.
        const long inProj = 8 * 8 + 48 * 8 + 16 * 8, outProj = 8 * 8 + 16 * 8 + 16 * 8;
        Assert.Equal(inProj + outProj, Count("[FloraTarget] private readonly MultiheadAttention attn = MultiheadAttention(16, 4);"));
        // InRank 32 clamps to E = 16; OutRank 24 fits in_proj's 48 rows and clamps to 16 on out_proj's.
        Assert.Equal(24 * 16 + 48 * 24 + 16 * 16 + (16 * 16 + 16 * 16 + 16 * 16),
            Count("[FloraTarget(OutRank = 24, InRank = 32)] private readonly MultiheadAttention attn = MultiheadAttention(16, 2, bias: false, add_bias_kv: true);"));
        // kdim and vdim equal to E keep one in_proj_weight; named arguments and constants count as literals.
        Assert.Equal(inProj + outProj, Count("""
            private const int Heads = 4;
            [FloraTarget] private readonly MultiheadAttention attn = MultiheadAttention(16, num_heads: Heads, kdim: 16, vdim: 16, dropout: 0.0);
            """));
    }

    [Theory]
    [InlineData("MultiheadAttention(16, heads)")] // heads not a constant
    [InlineData("MultiheadAttention(16, 3)")] // E not divisible by the heads: the layer cannot be built
    [InlineData("MultiheadAttention(16, 4, dropout: 0.1)")] // attention dropout: refused at run time
    [InlineData("MultiheadAttention(16, 4, kdim: 8, vdim: 8)")] // separate q, k, v weights: refused at run time
    public void MultiheadAttention_without_an_adaptable_literal_shape_has_no_constant(string creation)
    {
        Assert.Null(Count("private static int heads = 4;\n[FloraTarget] private readonly MultiheadAttention attn = " + creation + ";"));
    }

    [Theory]
    [InlineData("Embedding emb = Embedding(100, 32)", "emb.call(x)", "Emb", "Flora.FloraEmbedding")]
    [InlineData("MultiheadAttention attn = MultiheadAttention(16, 4)", "attn.call(x, x, x, null, false, null).Item1", "Attn", "Flora.FloraMultiheadAttention")]
    public void The_typed_property_has_the_layer_table_s_adapter_type(string member, string forward, string propertyName, string adapterType)
    {
        var run = Run(Usings + "public partial class M : Module<Tensor, Tensor>\n{\n"
                  + "    [FloraTarget] private readonly " + member + ";\n"
                  + "    public M() : base(nameof(M)) => RegisterComponents();\n"
                  + "    public override Tensor forward(Tensor x) => " + forward + ";\n}\n");
        run.AssertGeneratorDidNotFail();
        Assert.Empty(run.GeneratedCodeProblems);
        var adapters = run.Output.GetTypeByMetadataName("M+FloraAdapters")!;
        var property = adapters.GetMembers(propertyName).OfType<IPropertySymbol>().Single();
        Assert.Equal(adapterType, property.Type.ToDisplayString());
        // The layer is passed as it is (the runtime wraps a MultiheadAttention itself); a TorchSharp-typed member keeps its base layer.
        string memberName = member.Split(' ')[1];
        Assert.Contains($"parts.Target(this, \"{memberName}\", this.{memberName}, global::Flora.FloraTargetOptions.Inherit);", run.SingleSource());
    }

    /// <summary>Builds a model <c>M</c> with <paramref name="members"/> and reads its <c>FloraTrainableParameters</c> from the output compilation.</summary>
    private static long? Count(string members, string modelAttribute = "")
    {
        var run = Run(Usings + modelAttribute + """

            public partial class M : Module<Tensor, Tensor>
            {
                public M() : base(nameof(M)) => RegisterComponents();
                public override Tensor forward(Tensor x) => x;

            """ + members + "\n}\n");
        run.AssertGeneratorDidNotFail();
        Assert.Empty(run.GeneratedCodeProblems);
        var field = run.Output.GetTypeByMetadataName("M")!.GetMembers("FloraTrainableParameters").OfType<IFieldSymbol>().SingleOrDefault();
        if (field is null) return null;
        Assert.True(field.IsConst);
        return Assert.IsType<long>(field.ConstantValue);
    }
}
