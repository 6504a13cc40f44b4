using System;
using System.Linq;
using static TorchSharp.torch;

namespace Flora;

/// <summary>A dtype this library reads and writes in safetensors files: its header name, TorchSharp type and element size.</summary>
/// <param name="Name">The dtype's name in the header, e.g. <c>F32</c>.</param>
/// <param name="Type">The TorchSharp scalar type it loads as.</param>
/// <param name="Size">The bytes one element takes.</param>
internal sealed record SafetensorsDtype(string Name, ScalarType Type, int Size)
{
    /// <summary>Every supported dtype.</summary>
    internal static readonly SafetensorsDtype[] All =
    [
        new("F32", ScalarType.Float32, 4),
        new("F16", ScalarType.Float16, 2),
        new("BF16", ScalarType.BFloat16, 2),
        new("F64", ScalarType.Float64, 8),
        new("I64", ScalarType.Int64, 8),
        new("I32", ScalarType.Int32, 4),
        new("I16", ScalarType.Int16, 2),
        new("I8", ScalarType.Int8, 1),
        new("U8", ScalarType.Byte, 1),
        new("BOOL", ScalarType.Bool, 1),
    ];

    /// <summary>The supported header names, comma separated, for error messages.</summary>
    internal static readonly string SupportedList = string.Join(", ", All.Select(d => d.Name));

    /// <summary>The dtype a header names, or null when it is not supported.</summary>
    internal static SafetensorsDtype? FromName(string name) => Array.Find(All, d => d.Name == name);

    /// <summary>The dtype that stores <paramref name="type"/>, or null when safetensors cannot store it here.</summary>
    internal static SafetensorsDtype? FromType(ScalarType type) => Array.Find(All, d => d.Type == type);
}
