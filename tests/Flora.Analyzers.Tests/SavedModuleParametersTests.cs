using Flora.Generators;

namespace Flora.Analyzers.Tests;

/// <summary>
/// The shared count of a module to save (LayerShapeReader.SavedModuleParameters, used by FLORA008 and the generator's
/// FloraTrainableParameters) for each TorchSharp factory it knows, and null wherever the count is not known at compile time.
/// </summary>
public sealed class SavedModuleParametersTests
{
    private static long? Count(string declaration, string extra = "")
    {
        var compilation = TestReferences.Compile($$"""
            public partial class Model : Module<Tensor, Tensor>
            {
                private const int Width = 8;
                private const bool NoBias = false;
                {{declaration}}
                {{extra}}
                public Model(string name) : base(name) { }
                public override Tensor forward(Tensor x) => x;
            }
            """);
        Assert.Empty(compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
        var member = compilation.GetTypeByMetadataName("Model")!.GetMembers("m").Single();
        return LayerShapeReader.SavedModuleParameters(member, compilation, System.Threading.CancellationToken.None);
    }

    [Theory]
    // Linear: in·out + out (bias).
    [InlineData("Linear m = Linear(16, 10);", 170L)]
    [InlineData("Linear m = Linear(16, 10, hasBias: false);", 160L)]
    [InlineData("Linear m = Linear(outputSize: 10, inputSize: 2 * Width);", 170L)]
    [InlineData("Linear m = Linear(16, 10, NoBias);", 160L)]
    [InlineData("Module<Tensor, Tensor> m = TorchSharp.torch.nn.Linear(16, 10);", 170L)]
    // Conv: out·(in/groups)·Πk + out (bias).
    [InlineData("Conv1d m = Conv1d(4, 8, 3);", 8L * 4 * 3 + 8)]
    [InlineData("Conv2d m = Conv2d(3, 16, 3, padding: 1);", 16L * 3 * 9 + 16)]
    [InlineData("Conv2d m = Conv2d(3, 16, (3, 5), bias: false);", 16L * 3 * 15)]
    [InlineData("Conv2d m = Conv2d(Width, Width, 7, padding: 3, groups: Width);", 8L * 1 * 49 + 8)]
    [InlineData("Conv3d m = Conv3d(2, 4, (1, 2, 3), groups: 2);", 4L * 1 * 6 + 4)]
    // Norms: weight and bias when affine; running statistics are buffers.
    [InlineData("BatchNorm1d m = BatchNorm1d(32);", 64L)]
    [InlineData("BatchNorm2d m = BatchNorm2d(Width, eps: 1e-3, momentum: 0.01);", 16L)]
    [InlineData("BatchNorm3d m = BatchNorm3d(4, 1e-5, 0.1, false);", 0L)]
    [InlineData("BatchNorm2d m = BatchNorm2d(8, affine: true, track_running_stats: false);", 16L)]
    [InlineData("InstanceNorm2d m = InstanceNorm2d(8);", 0L)]
    [InlineData("InstanceNorm1d m = InstanceNorm1d(8, affine: true);", 16L)]
    [InlineData("LayerNorm m = LayerNorm(64);", 128L)]
    [InlineData("LayerNorm m = LayerNorm(64, bias: false);", 64L)]
    [InlineData("LayerNorm m = LayerNorm(64, elementwise_affine: false);", 0L)]
    [InlineData("LayerNorm m = LayerNorm(new long[] { 4, 8 });", 64L)]
    [InlineData("LayerNorm m = LayerNorm(new[] { 4L, Width });", 64L)]
    [InlineData("LayerNorm m = LayerNorm([4, 8], 1e-6);", 64L)]
    [InlineData("GroupNorm m = GroupNorm(4, 32);", 64L)]
    [InlineData("GroupNorm m = GroupNorm(num_channels: 32, num_groups: 8, affine: false);", 0L)]
    // Embedding: num·dims.
    [InlineData("Embedding m = Embedding(1000, 16);", 16_000L)]
    [InlineData("Embedding m = Embedding(1000, 16, padding_idx: 0);", 16_000L)]
    public void Each_factory_with_constant_arguments_is_counted(string declaration, long expected) =>
        Assert.Equal(expected, Count("private readonly " + declaration));

    [Fact]
    public void Properties_and_constructor_assignments_are_read()
    {
        Assert.Equal(170L, Count("public Linear m { get; } = Linear(16, 10);"));
        Assert.Equal(16L, Count("private readonly BatchNorm2d m;", "public Model() : base(\"M\") { m = BatchNorm2d(8); }"));
    }

    [Theory]
    [InlineData("private readonly Linear m;", "public Model(int w) : base(\"M\") { m = Linear(w, 4); }")]
    [InlineData("private readonly BatchNorm2d m;", "public Model(bool affine) : base(\"M\") { m = BatchNorm2d(8, affine: affine); }")]
    [InlineData("private readonly LayerNorm m;", "public Model(long[] shape) : base(\"M\") { m = LayerNorm(shape); }")]
    [InlineData("private readonly Linear m;", "public Model(int w) : base(\"M\") { m = Linear(4, 4); } public Model(long w) : base(\"M\") { m = Linear(8, 8); }")]
    [InlineData("private readonly Sequential m = Sequential(Linear(4, 4), ReLU());", "")]
    [InlineData("private readonly Module<Tensor, Tensor> m = Make();", "private static Module<Tensor, Tensor> Make() => Linear(4, 4);")]
    [InlineData("private readonly Linear m = Linear(new TorchSharp.Modules.Parameter(zeros(4, 4)));", "")]
    [InlineData("private readonly Dropout m = Dropout(0.1);", "")]
    [InlineData("private readonly GroupNorm m = GroupNorm(3, 32);", "")]
    [InlineData("private readonly Linear m = Linear(0, 4);", "")]
    [InlineData("private readonly Linear m = null!;", "")]
    public void Unknown_shapes_and_modules_are_null(string declaration, string extra) =>
        Assert.Null(Count(declaration, extra));

    [Fact]
    public void A_count_past_long_MaxValue_saturates() =>
        Assert.Equal(long.MaxValue, Count("private readonly Embedding m = Embedding(long.MaxValue, 2);"));
}
