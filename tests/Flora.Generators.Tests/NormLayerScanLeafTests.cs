using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using Flora.Generators.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Flora.Generators.Tests;

/// <summary>
/// The TorchSharp layers <see cref="NormLayerScan"/> treats as holding no child modules (so that they neither add to nor
/// hide the norm layers <c>SaveNormLayers</c> trains) really hold none: checked against TorchSharp itself.
/// </summary>
public sealed class NormLayerScanLeafTests
{
    private static readonly Compilation Compilation = TestCompiler.Compile("");

    /// <summary>Every public module type of TorchSharp.Modules that the scan accepts as a leaf, as reflection types.</summary>
    private static IEnumerable<Type> Leaves() =>
        typeof(nn.Module).Assembly.GetTypes()
            .Where(t => t.IsPublic && t.Namespace == "TorchSharp.Modules" && typeof(nn.Module).IsAssignableFrom(t))
            .Where(t => Compilation.GetTypeByMetadataName(t.FullName!) is { } symbol && NormLayerScan.IsLeaf(symbol));

    [Fact]
    public void No_leaf_type_holds_a_module_in_a_field()
    {
        var leaves = Leaves().ToList();
        Assert.True(leaves.Count > 60, $"only {leaves.Count} leaf types: the scan would hide too much");
        foreach (var type in leaves)
        {
            for (var t = type; t is not null && t != typeof(nn.Module); t = t.BaseType)
                foreach (var field in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                    Assert.False(HoldsModules(field.FieldType), $"{type.Name}.{field.Name} ({field.FieldType.Name}) can hold modules");
        }
    }

    [Fact]
    public void Leaf_layers_with_parameters_register_no_children()
    {
        var samples = new Dictionary<string, nn.Module>
        {
            ["Linear"] = nn.Linear(4, 3),
            ["Bilinear"] = nn.Bilinear(2, 3, 4),
            ["Conv1d"] = nn.Conv1d(2, 3, 3),
            ["Conv2d"] = nn.Conv2d(2, 3, 3),
            ["Conv3d"] = nn.Conv3d(2, 3, 3),
            ["ConvTranspose1d"] = nn.ConvTranspose1d(2, 3, 3),
            ["ConvTranspose2d"] = nn.ConvTranspose2d(2, 3, 3),
            ["ConvTranspose3d"] = nn.ConvTranspose3d(2, 3, 3),
            ["Embedding"] = nn.Embedding(10, 4),
            ["EmbeddingBag"] = nn.EmbeddingBag(10, 4),
            ["PReLU"] = nn.PReLU(3),
            ["BatchNorm1d"] = nn.BatchNorm1d(4),
            ["BatchNorm2d"] = nn.BatchNorm2d(4),
            ["BatchNorm3d"] = nn.BatchNorm3d(4),
            ["InstanceNorm1d"] = nn.InstanceNorm1d(4, affine: true, track_running_stats: true),
            ["InstanceNorm2d"] = nn.InstanceNorm2d(4),
            ["InstanceNorm3d"] = nn.InstanceNorm3d(4),
            ["LayerNorm"] = nn.LayerNorm(4),
            ["GroupNorm"] = nn.GroupNorm(2, 4),
            ["ReLU"] = nn.ReLU(),
            ["GELU"] = nn.GELU(),
            ["Dropout"] = nn.Dropout(0.1),
            ["MaxPool2d"] = nn.MaxPool2d(2),
            ["AdaptiveAvgPool2d"] = nn.AdaptiveAvgPool2d(1),
            ["Flatten"] = nn.Flatten(),
            ["Identity"] = nn.Identity(),
            ["Upsample"] = nn.Upsample(scale_factor: new double[] { 2 }),
        };
        var leafNames = Leaves().Select(t => t.Name).ToHashSet();
        foreach (var (name, module) in samples)
        {
            using (module)
            {
                Assert.Contains(name, leafNames);
                Assert.Equal(name, module.GetType().Name);
                var children = new List<string>();
                foreach (var (child, _) in module.named_children()) children.Add(child);
                Assert.Empty(children);
            }
        }
        // Every leaf with parameters of its own is among the samples above.
        foreach (var type in Leaves().Where(t => !IsParameterLess(t)))
            Assert.True(samples.ContainsKey(type.Name), $"{type.Name} is a leaf with parameters but has no sample here");
    }

    [Theory]
    [InlineData("TorchSharp.Modules.Sequential")]
    [InlineData("TorchSharp.Modules.ModuleList`1")]
    [InlineData("TorchSharp.Modules.ModuleDict`1")]
    [InlineData("TorchSharp.Modules.MultiheadAttention")]
    [InlineData("TorchSharp.Modules.TransformerEncoderLayer")]
    [InlineData("TorchSharp.Modules.LSTM")]
    public void Containers_and_composite_layers_are_not_leaves(string metadataName)
    {
        var symbol = Compilation.GetTypeByMetadataName(metadataName);
        Assert.NotNull(symbol);
        Assert.False(NormLayerScan.IsLeaf(symbol));
    }

    private static bool IsParameterLess(Type type)
    {
        for (var t = type.BaseType; t is not null; t = t.BaseType)
            if (t.Name.StartsWith("ParameterLessModule", StringComparison.Ordinal)) return true;
        return false;
    }

    /// <summary>Whether a field of <paramref name="type"/> can hold a module (hooks are delegates that take one, not modules).</summary>
    private static bool HoldsModules(Type type) =>
        !typeof(Delegate).IsAssignableFrom(type)
        && (typeof(nn.Module).IsAssignableFrom(type)
        || type == typeof(object)
        || type.IsArray && HoldsModules(type.GetElementType()!)
            || type.IsGenericType && type.GetGenericArguments().Any(HoldsModules));
}
