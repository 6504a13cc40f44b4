using System.Collections.Generic;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Flora;

/// <summary>
/// The configuration an adapter file carries in its safetensors header (<c>__metadata__["flora"]</c>, JSON): the
/// method, the library version, and each target's base layer, weight shape, ranks and scale.
/// </summary>
public sealed record AdapterFileConfig
{
    /// <summary>The metadata key that holds this configuration.</summary>
    public const string MetadataKey = "flora";

    /// <summary>The format's version; a reader refuses files of a newer format.</summary>
    public const int CurrentFormat = 1;

    /// <summary>The format's version.</summary>
    [JsonPropertyName("format")] public int Format { get; init; } = CurrentFormat;

    /// <summary>The library version that wrote the file.</summary>
    [JsonPropertyName("library_version")] public string LibraryVersion { get; init; } = "";

    /// <summary>The adaptation method, lower case (<c>flora</c>, <c>lora</c>, <c>dora</c>, <c>bitfit</c>).</summary>
    [JsonPropertyName("method")] public string Method { get; init; } = "";

    /// <summary>One entry per adapted layer, in the model's order.</summary>
    [JsonPropertyName("targets")] public IReadOnlyList<TargetEntry> Targets { get; init; } = new List<TargetEntry>();

    /// <summary>One adapted layer.</summary>
    public sealed record TargetEntry
    {
        /// <summary>The layer's path in the model; its tensors are keyed <c>{name}.{tensor}</c>.</summary>
        [JsonPropertyName("name")] public string Name { get; init; } = "";
        /// <summary>The base layer's type, e.g. Conv2d.</summary>
        [JsonPropertyName("layer")] public string Layer { get; init; } = "";
        /// <summary>The base weight's shape.</summary>
        [JsonPropertyName("weight_shape")] public long[] WeightShape { get; init; } = System.Array.Empty<long>();
        /// <summary>The method's ranks.</summary>
        [JsonPropertyName("ranks")] public int[] Ranks { get; init; } = System.Array.Empty<int>();
        /// <summary>The update's scale.</summary>
        [JsonPropertyName("scale")] public double Scale { get; init; }

        /// <summary>The spec this entry describes.</summary>
        public AdapterSpec ToSpec() => new(Layer, WeightShape, Ranks, Scale);
    }

    /// <summary>Serialises to compact JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this);

    /// <summary>Parses JSON; throws <see cref="JsonException"/> when it is not this shape.</summary>
    public static AdapterFileConfig FromJson(string json) =>
        JsonSerializer.Deserialize<AdapterFileConfig>(json, new JsonSerializerOptions { UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow })
        ?? throw new JsonException("the configuration is null");
}
