using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using Flora.Generators.Model;
using Xunit;

namespace Flora.Generators.Tests;

/// <summary>
/// The rule STJ's ContextGenerationSpec states: a spec holds no ISymbol, SyntaxNode, Location or Compilation (they
/// break caching and keep compilations alive). Every property of every type in <c>Flora.Generators.Model</c>, followed
/// recursively, is a primitive, string, enum, a nullable of those, an <c>EquatableArray&lt;T&gt;</c> of allowed types,
/// or another Model record; and every record there is sealed with value equality.
/// </summary>
public sealed class SpecShapeTests
{
    private static readonly Assembly Generator = typeof(FloraGenerator).Assembly;

    public static TheoryData<string> ModelTypes()
    {
        var data = new TheoryData<string>();
        foreach (var type in Generator.GetTypes().Where(IsModelType).Where(t => !t.IsGenericTypeDefinition && !t.IsNested))
            data.Add(type.FullName!);
        return data;
    }

    [Fact]
    public void The_model_namespace_holds_the_specs()
    {
        var names = Generator.GetTypes().Where(IsModelType).Select(t => t.Name).ToList();
        Assert.Contains(nameof(ModelSpec), names);
        Assert.Contains(nameof(TargetSpec), names);
        Assert.Contains(nameof(HierarchyInfo), names);
    }

    [Theory]
    [MemberData(nameof(ModelTypes))]
    public void Every_property_is_a_value_or_another_spec(string typeName)
    {
        var problems = new List<string>();
        Check(Generator.GetType(typeName, throwOnError: true)!, typeName, problems, new HashSet<Type>());
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void The_pipeline_value_is_a_ModelSpec()
    {
        // The transforms return ParsedModel (Flora.ModelTypes, Flora.Targets, Flora.ModulesToSave) and ModelSpec (Flora.Models): the types the checks above cover.
        var parser = typeof(FloraGenerator).GetNestedType("Parser", BindingFlags.NonPublic)!;
        Assert.Equal(typeof(ParsedModel), parser.GetMethod("ParseModelType")!.ReturnType);
        Assert.Equal(typeof(ParsedModel), parser.GetMethod("ParseAnnotatedMember")!.ReturnType);
        Assert.Equal(typeof(System.Collections.Immutable.ImmutableArray<ModelSpec>), parser.GetMethod("NameFiles")!.ReturnType);
    }

    [Theory]
    [MemberData(nameof(ModelTypes))]
    public void Records_are_sealed_and_equatable(string typeName)
    {
        var type = Generator.GetType(typeName, throwOnError: true)!;
        if (type.IsEnum || type.IsValueType) return;
        Assert.True(type.IsSealed, $"{type.Name} is not sealed");
        Assert.True(typeof(IEquatable<>).MakeGenericType(type).IsAssignableFrom(type), $"{type.Name} is not IEquatable<{type.Name}>");
    }

    private static bool IsModelType(Type type) => type.Namespace == "Flora.Generators.Model";

    private static void Check(Type type, string path, List<string> problems, HashSet<Type> seen)
    {
        if (!seen.Add(type)) return;
        if (IsValue(type)) return;
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(EquatableArray<>))
        {
            Check(type.GetGenericArguments()[0], path + "[]", problems, seen);
            return;
        }
        if (!IsModelType(type))
        {
            problems.Add($"{path}: {type.FullName} is neither a value nor a Model type");
            return;
        }
        foreach (var property in type.GetProperties(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
        {
            if (property.Name == "EqualityContract") continue; // the record's own Type, compiler-generated
            Check(property.PropertyType, path + "." + property.Name, problems, seen);
        }
        foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
        {
            if (field.Name.Contains("k__BackingField", StringComparison.Ordinal)) continue; // covered by its property
            if (type.IsGenericType) continue;
            Check(field.FieldType, path + "." + field.Name, problems, seen);
        }
    }

    private static bool IsValue(Type type)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        return underlying.IsPrimitive || underlying.IsEnum || underlying == typeof(string) || underlying == typeof(decimal);
    }
}
