using System.Linq;
using Flora.Generators.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Xunit;
using static Flora.Generators.Tests.Infrastructure.TestCompiler;

namespace Flora.Generators.Tests;

/// <summary>
/// ConvTranspose1d/2d/3d targets: the typed <c>FloraAdapters</c> property and the compile-time counts, worked out by hand
/// on the weight <c>[in, out/groups, k…]</c> with mode 0 (in) taking <c>InRank ?? Rank</c> and mode 1 (out/groups)
/// <c>OutRank ?? Rank</c>.
/// </summary>
public sealed class TransposedConvolutionTargetTests
{
    [Fact]
    public void A_transposed_target_gets_its_typed_adapter_property()
    {
        var run = Run(Model("""
            [FloraTarget] private readonly ConvTranspose1d up1 = ConvTranspose1d(8, 4, 3, stride: 2);
            [FloraTarget] private readonly ConvTranspose2d up2 = ConvTranspose2d(8, 16, 3, stride: 2);
            [FloraTarget] private readonly ConvTranspose3d up3 = ConvTranspose3d(4, 4, 2, stride: 2);
            """));
        run.AssertGeneratorDidNotFail();
        Assert.Empty(run.GeneratedCodeProblems);
        var adapters = run.Output.GetTypeByMetadataName("M+FloraAdapters")!;
        Assert.Equal("Flora.FloraConvTranspose1d", Property(adapters, "Up1"));
        Assert.Equal("Flora.FloraConvTranspose2d", Property(adapters, "Up2"));
        Assert.Equal("Flora.FloraConvTranspose3d", Property(adapters, "Up3"));
    }

    [Fact]
    public void The_count_reads_the_transposed_weight_in_its_own_mode_order()
    {
        // ConvTranspose2d(8, 16, 3, stride: 2): [8, 16, 3, 3], Rank 8, R3 2 → r = 8, 8, 2, 2.
        Assert.Equal(8 * 8 * 2 * 2 + 8 * 8 + 16 * 8 + 3 * 2 + 3 * 2,
            Count("[FloraTarget] private readonly ConvTranspose2d up = ConvTranspose2d(8, 16, 3, stride: 2);", "[FloraModel(R3 = 2)]"));
    }

    [Fact]
    public void InRank_goes_to_mode_0_and_OutRank_to_the_output_channels_per_group()
    {
        // ConvTranspose2d(12, 8, (3, 2), groups: 4): [12, 2, 3, 2]; InRank 5 → mode 0, OutRank 4 clamps to 2, R3 1.
        Assert.Equal(5 * 2 * 1 * 1 + 12 * 5 + 2 * 2 + 3 + 2,
            Count("[FloraTarget(InRank = 5, OutRank = 4)] private readonly ConvTranspose2d up = ConvTranspose2d(12, 8, (3, 2), groups: 4);"));
    }

    [Fact]
    public void A_depthwise_transposed_conv_has_r_out_1()
    {
        // ConvTranspose1d(6, 6, 5, groups: 6): [6, 1, 5] → r = 8 → 6, 1, 1.
        Assert.Equal(6 * 1 * 1 + 6 * 6 + 1 * 1 + 5 * 1,
            Count("[FloraTarget] private readonly ConvTranspose1d dw = ConvTranspose1d(6, 6, 5, groups: 6);"));
    }

    [Fact]
    public void The_Houlsby_count_acts_on_the_output_channels()
    {
        // ConvTranspose2d(8, 4, 2, groups: 2, AdapterSize 3): a bottleneck on out = 4 channels, 2·4·3 + 3 + 4.
        var run = Run(Model("[FloraTarget(AdapterSize = 3)] private readonly ConvTranspose2d up = ConvTranspose2d(8, 4, 2, groups: 2);"));
        run.AssertGeneratorDidNotFail();
        var field = run.Output.GetTypeByMetadataName("M")!.GetMembers("HoulsbyTrainableParameters").OfType<IFieldSymbol>().Single();
        Assert.Equal(2L * 4 * 3 + 3 + 4, field.ConstantValue);
    }

    [Fact]
    public void Forward_on_a_transposed_target_is_intercepted_like_any_other()
    {
        var run = InterceptionCompiler.Run(Usings + """
            public partial class Net : Module<Tensor, Tensor>
            {
                [FloraTarget] private readonly ConvTranspose2d up = ConvTranspose2d(4, 2, 3, stride: 2, output_padding: 1);
                public Net() : base(nameof(Net)) => RegisterComponents();
                public override Tensor forward(Tensor x) => up.forward(x);
            }
            """);
        run.AssertCompilesCleanly();
        Assert.Single(run.Source("Net.Flora.Interceptors.g.cs").Split('\n'), l => l.Contains("InterceptsLocation(1,"));
    }

    private static string? Property(INamedTypeSymbol type, string name) =>
        type.GetMembers(name).OfType<IPropertySymbol>().SingleOrDefault()?.Type.ToDisplayString();

    private static long? Count(string members, string modelAttribute = "")
    {
        var run = Run(Model(members, modelAttribute));
        run.AssertGeneratorDidNotFail();
        Assert.Empty(run.GeneratedCodeProblems);
        var field = run.Output.GetTypeByMetadataName("M")!.GetMembers("FloraTrainableParameters").OfType<IFieldSymbol>().SingleOrDefault();
        if (field is null) return null;
        Assert.True(field.IsConst);
        return Assert.IsType<long>(field.ConstantValue);
    }

    private static string Model(string members, string modelAttribute = "") => Usings + modelAttribute + """

        public partial class M : Module<Tensor, Tensor>
        {
            public M() : base(nameof(M)) => RegisterComponents();
            public override Tensor forward(Tensor x) => x;

        """ + members + "\n}\n";
}
