using System.Collections.Generic;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Flora;

/// <summary>
/// The configuration an adapter file carries in its safetensors header (<c>__metadata__["flora"]</c>, JSON): the
/// method, the library version, each target's base layer, weight shape, ranks and scale, and the modules saved whole.
/// <para>
/// Format history: 1 — targets only; 2 — LoRA/DoRA targets record α and rsLoRA, and <c>modules_to_save</c> lists the
/// modules whose parameters and buffers the file holds; 3 — AdaLoRA: each target records its <c>target_rank</c> and
/// <c>rank_pattern</c> (the triplets the allocation kept), and <c>adalora</c> the allocation's settings. Each version
/// reads the files of the versions before it.
/// </para>
/// </summary>
public sealed record AdapterFileConfig
{
    /// <summary>The name of the entry in the file's <c>__metadata__</c> that holds this configuration as JSON.</summary>
    public const string MetadataEntryName = "flora";

    /// <summary>The format's version; a reader refuses files of a newer format.</summary>
    public const int CurrentFormat = 3;

    /// <summary>The format's version.</summary>
    [JsonPropertyName("format")] public int Format { get; init; } = CurrentFormat;

    /// <summary>The library version that wrote the file.</summary>
    [JsonPropertyName("library_version")] public string LibraryVersion { get; init; } = "";

    /// <summary>The adaptation method, lower case (<c>flora</c>, <c>lora</c>, <c>dora</c>, <c>bitfit</c>, <c>houlsby</c>, <c>pfeiffer</c>).</summary>
    [JsonPropertyName("method")] public string Method { get; init; } = "";

    /// <summary>One entry per adapted layer, in the model's order.</summary>
    [JsonPropertyName("targets")] public IReadOnlyList<TargetEntry> Targets { get; init; } = new List<TargetEntry>();

    /// <summary>The modules trained and saved whole (format 2; empty in format 1 files).</summary>
    [JsonPropertyName("modules_to_save")] public IReadOnlyList<SavedModuleEntry> ModulesToSave { get; init; } = new List<SavedModuleEntry>();

    /// <summary>AdaLoRA's settings (format 3): the schedule and smoothing the allocation ran with; null for other methods.</summary>
    [JsonPropertyName("adalora")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public AdaLoraOptions? AdaLora { get; init; }

    /// <summary>One adapted layer.</summary>
    public sealed record TargetEntry
    {
        /// <summary>The layer's path in the model; its tensors are keyed <c>{name}.{tensor}</c>.</summary>
        [JsonPropertyName("name")] public string Name { get; init; } = "";
        /// <summary>The base layer's type, e.g. Conv2d.</summary>
        [JsonPropertyName("layer")] public string Layer { get; init; } = "";
        /// <summary>The base weight's shape.</summary>
        [JsonPropertyName("weight_shape")] public long[] WeightShape { get; init; } = System.Array.Empty<long>();
        /// <summary>The method's ranks (a bottleneck adapter's one: its width).</summary>
        [JsonPropertyName("ranks")] public int[] Ranks { get; init; } = System.Array.Empty<int>();
        /// <summary>The update's scale.</summary>
        [JsonPropertyName("scale")] public double Scale { get; init; }
        /// <summary>LoRA's and DoRA's α (format 2); null for other methods and in format 1 files.</summary>
        [JsonPropertyName("lora_alpha")]
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public double? LoraAlpha { get; init; }
        /// <summary>Whether the LoRA/DoRA scale is α/√r (format 2).</summary>
        [JsonPropertyName("use_rslora")]
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
        public bool UseRsLora { get; init; }
        /// <summary>AdaLoRA's target rank, the target's share of the final budget (format 3); null for other methods.</summary>
        [JsonPropertyName("target_rank")]
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public int? TargetRank { get; init; }
        /// <summary>AdaLoRA's kept triplets, one per rank (format 3; PEFT's <c>rank_pattern</c> entry); null for other methods.</summary>
        [JsonPropertyName("rank_pattern")]
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public bool[]? RankPattern { get; init; }

        /// <summary>The spec this entry describes.</summary>
        internal AdapterSpec ToSpec() => new(Layer, WeightShape, Ranks, Scale) { LoraAlpha = LoraAlpha, UseRsLora = UseRsLora, TargetRank = TargetRank };

        /// <summary>The entry describing <paramref name="spec"/> at <paramref name="name"/>.</summary>
        internal static TargetEntry Of(string name, AdapterSpec spec) => new()
        {
            Name = name, Layer = spec.LayerType, WeightShape = spec.WeightShape, Ranks = spec.Ranks, Scale = spec.Scale,
            LoraAlpha = spec.LoraAlpha, UseRsLora = spec.UseRsLora, TargetRank = spec.TargetRank,
        };
    }

    /// <summary>One module saved whole: its tensors are keyed <c>{name}.{parameter or buffer name}</c>.</summary>
    public sealed record SavedModuleEntry
    {
        /// <summary>The module's path in the model.</summary>
        [JsonPropertyName("name")] public string Name { get; init; } = "";
        /// <summary>The module's type, e.g. BatchNorm2d.</summary>
        [JsonPropertyName("module")] public string Module { get; init; } = "";
        /// <summary>The names of its parameters and buffers in the file, relative to the module.</summary>
        [JsonPropertyName("tensors")] public string[] Tensors { get; init; } = System.Array.Empty<string>();
    }

    /// <summary>Serialises to compact JSON.</summary>
    internal string ToJson() => JsonSerializer.Serialize(this);

    /// <summary>
    /// Parses JSON; throws <see cref="JsonException"/> when it is not this shape. The format number is read first, so
    /// that a file of a newer format is reported as such (<see cref="FormatOf"/>) rather than as damaged.
    /// </summary>
    internal static AdapterFileConfig FromJson(string json) =>
        JsonSerializer.Deserialize<AdapterFileConfig>(json, new JsonSerializerOptions { UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow })
        ?? throw new JsonException("the configuration is null");

    /// <summary>The <c>format</c> number of a configuration's JSON (1 when absent); throws <see cref="JsonException"/> when it is not a JSON object.</summary>
    internal static int FormatOf(string json)
    {
        using var document = JsonDocument.Parse(json);
        if (document.RootElement.ValueKind != JsonValueKind.Object) throw new JsonException("the configuration is not a JSON object");
        return document.RootElement.TryGetProperty("format", out var format) && format.TryGetInt32(out int value) ? value : 1;
    }
}
