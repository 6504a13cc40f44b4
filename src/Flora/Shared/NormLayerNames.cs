// Shared by the runtime, the source generator and the analyzers (linked source): the one list of TorchSharp's
// normalisation layer types that SaveNormLayers trains and saves. Plain C# for netstandard2.0, no TorchSharp.
namespace Flora
{
    /// <summary>The normalisation layers <c>SaveNormLayers</c> saves, by their type names in <c>TorchSharp.Modules</c>.</summary>
    internal static class NormLayerNames
    {
        /// <summary>The namespace of the types.</summary>
        public const string TorchNamespace = "TorchSharp.Modules";

        /// <summary>The type names: BatchNorm1d/2d/3d, InstanceNorm1d/2d/3d, LayerNorm, GroupNorm.</summary>
        public static readonly string[] TypeNames =
        {
            "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "LayerNorm", "GroupNorm",
        };

        /// <summary>Whether the type <paramref name="typeName"/> in <paramref name="typeNamespace"/> is one of them.</summary>
        public static bool Contains(string? typeNamespace, string typeName) =>
            typeNamespace == TorchNamespace && System.Array.IndexOf(TypeNames, typeName) >= 0;
    }
}
