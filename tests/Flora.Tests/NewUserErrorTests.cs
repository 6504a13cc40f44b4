using Flora.Tests.Injection;
using TorchSharp.Modules;

namespace Flora.Tests;

/// <summary>
/// Mistakes a new user makes in the runtime options, each refused where it is made with a message that names the
/// pattern, option or type, what is wrong and the fix (issue 22).
/// </summary>
public sealed class NewUserErrorTests
{
    private static void AssertUntouched(TinyNet model)
    {
        Assert.DoesNotContain(model.modules(), m => m is IFloraAdapter);
        Assert.All(model.parameters(), p => Assert.True(p.requires_grad));
    }

    public static TheoryData<string> InvalidPatternPlaces => new() { "TargetModules", "ExcludeModules", "ModulesToSave", "Overrides" };

    private static FloraConfig WithPattern(string place, string pattern) => place switch
    {
        "TargetModules" => new FloraConfig { TargetModules = new[] { "head", pattern } },
        "ExcludeModules" => new FloraConfig { TargetModules = new[] { "head" }, ExcludeModules = new[] { pattern } },
        "ModulesToSave" => new FloraConfig { TargetModules = new[] { "head" }, ModulesToSave = new[] { pattern } },
        _ => new FloraConfig { TargetModules = new[] { "head" }, Overrides = new[] { (pattern, new FloraTargetOptions { Rank = 2 }) } },
    };

    [Theory]
    [MemberData(nameof(InvalidPatternPlaces))]
    public void An_invalid_regular_expression_is_reported_as_such_not_as_no_match(string place)
    {
        using var model = new TinyNet();
        var error = Assert.ThrowsAny<ArgumentException>(() => FloraInjector.Attach(model, WithPattern(place, "blocks.(0")));
        Assert.Contains("\"blocks.(0\"", error.Message);
        Assert.Contains("not a valid regular expression", error.Message);
        Assert.Contains("Not enough )'s", error.Message);
        Assert.Contains("escape", error.Message);
        Assert.DoesNotContain("No layer matches", error.Message);
        AssertUntouched(model);
    }

    [Fact]
    public void A_catastrophic_regular_expression_is_an_ArgumentException_naming_it()
    {
        // Five ways to take each character of a long name, then a '!' no name has: exponential backtracking.
        using var model = nn.Sequential(("a_layer_with_a_rather_long_name", nn.Linear(4, 4)));
        const string pattern = "(.|.|.|.|.)*!";
        var error = Assert.ThrowsAny<ArgumentException>(() => FloraInjector.Attach(model, new FloraConfig { TargetModules = new[] { pattern } }));
        Assert.Contains($"\"{pattern}\"", error.Message);
        Assert.Contains("took longer than", error.Message);
        Assert.Contains("'a_layer_with_a_rather_long_name'", error.Message);
        Assert.DoesNotContain(model.modules(), m => m is IFloraAdapter);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void A_LoraRank_below_one_is_refused_even_where_the_method_ignores_it(int rank)
    {
        var model = Assert.Throws<ArgumentException>(() => new FloraModelOptions { LoraRank = rank });
        Assert.Contains($"FloraModelOptions.LoraRank {rank} is less than 1", model.Message);
        Assert.Contains("leave it unset", model.Message);
        var target = Assert.Throws<ArgumentException>(() => new FloraTargetOptions { LoraRank = rank });
        Assert.Contains($"FloraTargetOptions.LoraRank {rank} is less than 1", target.Message);
        Assert.Contains("[FloraTarget(LoraRank", target.Message);
        Assert.Null(new FloraModelOptions { LoraRank = null }.LoraRank);
        Assert.Equal(1, new FloraTargetOptions { LoraRank = 1 }.LoraRank);
    }

    [Fact]
    public void A_registered_transposed_convolution_describes_itself_with_the_transposed_geometry()
    {
        var names = FloraLayerTypes.Names;
        Assert.Contains("ConvTranspose2d", names);
        Assert.IsType<TransposedConvolutionGeometry>(LayerGeometry.Convolution(nn.ConvTranspose2d(2, 4, 3)));
        Assert.IsType<TransposedConvolutionGeometry>(LayerGeometry.TransposedConvolution(nn.ConvTranspose1d(2, 4, 3)));
        var error = Assert.Throws<ArgumentException>(() => LayerGeometry.TransposedConvolution(nn.Conv2d(2, 4, 3)));
        Assert.Contains("Conv2d is not a transposed convolution", error.Message);
    }
}
