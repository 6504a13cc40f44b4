using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Flora;

/// <summary>
/// The part of a Hugging Face PEFT <c>adapter_config.json</c> (peft_type <c>LORA</c>, or <c>ADALORA</c> with
/// <see cref="AdaLora"/>) that defines the adapted model's function: rank and α (with <c>rank_pattern</c> /
/// <c>alpha_pattern</c>), rsLoRA, DoRA, which modules are targets and which are saved whole. <see cref="Read"/> validates every field and refuses what Flora cannot compute exactly as PEFT
/// does (another peft_type, trainable biases, <c>lora_bias</c>, <c>layers_to_transform</c>, <c>target_parameters</c>,
/// <c>fan_in_fan_out</c>, an <c>init_lora_weights</c> PEFT re-runs on the base weights at load, …) with an
/// <see cref="AdapterFileException"/> that names the field, its value and the fix.
/// <para>
/// The rule for fields (PEFT's <c>LoraConfig</c> and <c>PeftConfig</c> as of PEFT 0.20, huggingface/peft 5d602fd): a
/// field PEFT knows is read and checked when it defines the function (<see cref="Known"/>), ignored when it only shapes
/// training, initialisation, the Hub or device placement (<see cref="Irrelevant"/>), and refused when set when it changes
/// what the adapted model computes in a way Flora does not implement (<see cref="Unsupported"/>). A field PEFT does not
/// know is ignored with a warning, as PEFT's <c>PeftConfig.from_peft_type</c> drops unknown keys with a warning
/// (typically a field of a newer PEFT): the warning goes to <see cref="PeftImportOptions.OnWarning"/>.
/// </para>
/// <see cref="ToJson"/> writes what PEFT's <c>LoraConfig.from_pretrained</c> reads.
/// </summary>
internal sealed partial record PeftAdapterConfig
{
    /// <summary>The file name PEFT's <c>save_pretrained</c> writes the configuration to.</summary>
    public const string FileName = "adapter_config.json";

    /// <summary>The default rank <c>r</c>.</summary>
    public required int R { get; init; }

    /// <summary>The default <c>lora_alpha</c>.</summary>
    public required double LoraAlpha { get; init; }

    /// <summary><c>use_rslora</c>: the scale is <c>α/√r</c> instead of <c>α/r</c>.</summary>
    public bool UseRsLora { get; init; }

    /// <summary><c>use_dora</c>: the adapters are DoRA (a magnitude vector per target).</summary>
    public bool UseDora { get; init; }

    /// <summary><c>target_modules</c> as a list (exact names or dotted suffixes); null when it is one regular expression.</summary>
    public IReadOnlyList<string>? TargetModuleList { get; init; }

    /// <summary><c>target_modules</c> as one regular expression that must match the whole module name; null for a list.</summary>
    public string? TargetModuleRegex { get; init; }

    /// <summary><c>exclude_modules</c> as a list; null when absent or a regular expression.</summary>
    public IReadOnlyList<string>? ExcludeModuleList { get; init; }

    /// <summary><c>exclude_modules</c> as one regular expression (whole name); null when absent or a list.</summary>
    public string? ExcludeModuleRegex { get; init; }

    /// <summary><c>modules_to_save</c>: module names matched as suffixes (PEFT's <c>key.endswith(name)</c>).</summary>
    public IReadOnlyList<string> ModulesToSave { get; init; } = Array.Empty<string>();

    /// <summary><c>rank_pattern</c> in the file's order (PEFT takes the first key that matches).</summary>
    public IReadOnlyList<KeyValuePair<string, int>> RankPattern { get; init; } = Array.Empty<KeyValuePair<string, int>>();

    /// <summary><c>alpha_pattern</c> in the file's order (PEFT takes the first key that matches).</summary>
    public IReadOnlyList<KeyValuePair<string, double>> AlphaPattern { get; init; } = Array.Empty<KeyValuePair<string, double>>();

    /// <summary>
    /// PEFT fields that only shape training, the Hub or device placement: once the weights are loaded they do not change
    /// the function. (<c>init_lora_weights</c> is checked in <see cref="CheckInitialisation"/>: some values make PEFT
    /// rewrite the base weights at load; the sub-configurations of those initialisations only matter with them.)
    /// </summary>
    private static readonly HashSet<string> Irrelevant = new(StringComparer.Ordinal)
    {
        "task_type", "peft_version", "auto_mapping", "base_model_name_or_path", "revision", "inference_mode", "lora_dropout",
        "loftq_config", "eva_config", "corda_config", "lora_ga_config", "runtime_config", "megatron_core",
        "qalora_group_size", "ensure_weight_tying",
    };

    /// <summary>PEFT fields read into this record (or checked), validated one by one in <see cref="Parse"/>.</summary>
    private static readonly HashSet<string> Known = new(StringComparer.Ordinal)
    {
        "peft_type", "r", "lora_alpha", "use_rslora", "use_dora", "target_modules", "exclude_modules", "modules_to_save",
        "rank_pattern", "alpha_pattern", "bias", "lora_bias", "fan_in_fan_out", "layers_to_transform", "layers_pattern", "target_parameters",
        "init_lora_weights",
    };

    /// <summary>
    /// PEFT fields that, when set, change what the adapted model computes in ways Flora does not implement (other LoRA
    /// variants, layer replication, trainable tokens, Megatron layers): refused unless unset (null, false or empty).
    /// </summary>
    private static readonly HashSet<string> Unsupported = new(StringComparer.Ordinal)
    {
        "use_qalora", "trainable_token_indices", "layer_replication", "megatron_config", "alora_invocation_tokens",
        "arrow_config", "kasa_config", "monteclora_config", "velora_config", "use_bdlora",
    };

    /// <summary>What a PEFT adapter directory holds, for messages.</summary>
    private const string DirectoryFix = "A PEFT adapter directory holds " + FileName + " and adapter_model.safetensors, as PeftModel.save_pretrained writes them.";

    /// <summary>
    /// The fix for a directory without a root adapter that holds named adapters in sub-directories (what PEFT's
    /// <c>save_pretrained</c> writes when "default" is not among the saved adapters), or null when it holds none.
    /// </summary>
    private static string? NamedAdaptersOnlyFix(string directory)
    {
        var named = AdapterSubdirectories(directory).Select(sub => Path.GetFileName(sub)).ToList();
        if (named.Count == 0) return null;
        return $"It holds no adapter at its root, only the named adapter{(named.Count == 1 ? "" : "s")} {string.Join(", ", named.Select(n => $"'{n}'"))} " +
               $"in sub-directories (PEFT's save_pretrained puts every adapter but \"default\" in <directory>/<name>/). Pass the sub-directory " +
               $"(e.g. '{Path.Combine(directory, named[0])}'), then load the others with LoadAdapter(path, name).";
    }

    /// <summary>The sub-directories of <paramref name="directory"/> that hold a PEFT adapter (multi-adapter layout), in ordinal order of their names.</summary>
    public static IEnumerable<string> AdapterSubdirectories(string directory) =>
        Directory.Exists(directory)
            ? Directory.GetDirectories(directory).Where(d => File.Exists(Path.Combine(d, FileName))).OrderBy(d => d, StringComparer.Ordinal)
            : Enumerable.Empty<string>();

    /// <summary>
    /// Reads and validates <c>adapter_config.json</c> in <paramref name="directory"/>. Throws <see cref="AdapterFileException"/>
    /// naming the field for anything PEFT would compute differently from a LoRA/DoRA adapter on Linear and Conv layers
    /// (and for a missing directory or file); fields PEFT does not know are reported to <paramref name="warn"/>.
    /// </summary>
    public static PeftAdapterConfig Read(string directory, Action<string>? warn = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!Directory.Exists(directory))
        {
            if (File.Exists(directory))
                throw new AdapterFileException(directory, null, $"it is a file, but AttachFromPeft reads a directory. Pass the directory that holds it. {DirectoryFix}");
            string problem = $"the directory does not exist. {DirectoryFix}";
            throw new AdapterFileException(directory, null, problem, new DirectoryNotFoundException($"'{directory}' does not exist."));
        }
        string path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
            throw AdapterFileException.Missing(path, NamedAdaptersOnlyFix(directory) ?? DirectoryFix);
        string text = File.ReadAllText(path);
        JsonObject root;
        try
        {
            using (var document = JsonDocument.Parse(text))
                RefuseDuplicateKeys(path, document.RootElement, null);
            root = JsonNode.Parse(text) as JsonObject
                   ?? throw new AdapterFileException(path, null, "it is not a JSON object. Write it with PEFT's save_pretrained.");
        }
        catch (JsonException e)
        {
            throw new AdapterFileException(path, null, $"it is not valid JSON ({e.Message}). Write it with PEFT's save_pretrained.", e);
        }
        return Parse(path, root, warn);
    }

    /// <summary>
    /// Refuses an object key that appears twice (at any depth): Python's <c>json</c>, which PEFT reads the file with,
    /// keeps the last value without a word, so the file says two things and Flora will not guess which was meant.
    /// </summary>
    private static void RefuseDuplicateKeys(string path, JsonElement element, string? at)
    {
        if (element.ValueKind == JsonValueKind.Array)
        {
            int index = 0;
            foreach (var item in element.EnumerateArray()) RefuseDuplicateKeys(path, item, $"{at}[{index++}]");
            return;
        }
        if (element.ValueKind != JsonValueKind.Object) return;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            string key = at is null ? property.Name : $"{at}[\"{property.Name}\"]";
            if (!seen.Add(property.Name))
                throw new AdapterFileException(path, key,
                    "the key appears twice. Python's json (PEFT's reader) would silently keep the last value; keep one entry, the value the adapter was trained with.");
            RefuseDuplicateKeys(path, property.Value, key);
        }
    }

    /// <summary>Validates the parsed <paramref name="root"/> of the file at <paramref name="path"/> (see <see cref="Read"/>).</summary>
    internal static PeftAdapterConfig Parse(string path, JsonObject root, Action<string>? warn = null)
    {
        string peftType = String(path, root, "peft_type") ?? throw Refuse(path, "peft_type", "is missing", "Flora reads LoRA and AdaLoRA adapters: peft_type must be \"LORA\" or \"ADALORA\".");
        if (peftType is not ("LORA" or "ADALORA"))
            throw Refuse(path, "peft_type", $"is \"{peftType}\"", "Flora reads PEFT's LoRA (and DoRA) and AdaLoRA adapters only: peft_type must be \"LORA\" or \"ADALORA\".");
        bool adaLora = peftType == "ADALORA";
        foreach (var (name, value) in root)
        {
            if (Known.Contains(name) || Irrelevant.Contains(name) || adaLora && AdaLoraFields.Contains(name)) continue;
            if (Unsupported.Contains(name))
            {
                if (IsUnset(value)) continue;
                throw Refuse(path, name, $"is {Show(value)}",
                    "this PEFT option changes what the adapted model computes and Flora does not implement it. Train without it (leave it unset), or use PEFT itself.");
            }
            warn?.Invoke($"Adapter file '{path}', key '{name}': PEFT's {(adaLora ? "AdaLoraConfig" : "LoraConfig")} has no field '{name}' (value {Show(value)}), so it is ignored, as PEFT ignores " +
                         "unknown fields with a warning. It may come from a newer PEFT; if it changes what the adapter computes, neither PEFT here nor Flora reproduces that.");
        }
        CheckInitialisation(path, root, warn);
        string bias = String(path, root, "bias") ?? "none";
        if (bias != "none")
            throw Refuse(path, "bias", $"is \"{bias}\"", "Flora's LoRA leaves the base biases frozen: only bias \"none\" can be loaded (BitFit-style trained biases are not part of a PEFT LoRA Flora can express).");
        if (Bool(path, root, "lora_bias"))
            throw Refuse(path, "lora_bias", "is true", "Flora's LoRA has no bias on lora_B: train with lora_bias=False.");
        if (Bool(path, root, "fan_in_fan_out"))
            throw Refuse(path, "fan_in_fan_out", "is true",
                "fan_in_fan_out is for transformers' Conv1D layers (weights stored in × out); TorchSharp's Linear and Conv layers store out × in. Train with fan_in_fan_out=False.");
        foreach (var field in new[] { "layers_to_transform", "layers_pattern", "target_parameters" })
        {
            if (root.TryGetPropertyValue(field, out var value) && !IsUnset(value))
                throw Refuse(path, field, $"is {Show(value)}",
                    field == "target_parameters"
                        ? "Flora adapts modules, not bare parameters (PEFT's ParamWrapper): target the Linear/Conv modules with target_modules instead."
                        : "Flora does not select layers by index: list the modules themselves in target_modules (a regular expression can pick the layers).");
        }

        // Absent: PEFT's defaults (8). Null: PEFT fails on it (update_layer compares r with 0; the scale divides α by r).
        foreach (var field in adaLora ? new[] { "lora_alpha" } : new[] { "r", "lora_alpha" })
            if (root.TryGetPropertyValue(field, out var node) && node is null)
                throw Refuse(path, field, "is null", "PEFT refuses it too (LoraConfig needs a number). Write the value the adapter was trained with, or leave the field out for PEFT's default 8.");
        int r = adaLora ? 8 : Int(path, root, "r") ?? 8; // AdaLoRA ignores r (init_r is its rank)
        if (r < 1) throw Refuse(path, "r", $"is {r}", "a LoRA rank must be at least 1.");
        double alpha = Number(path, root, "lora_alpha") ?? 8;
        if (!double.IsFinite(alpha) || alpha <= 0 && !adaLora) throw Refuse(path, "lora_alpha", $"is {alpha}", "lora_alpha must be a finite number greater than 0.");

        var (targetList, targetRegex) = NamesOrRegex(path, root, "target_modules");
        if (targetList is null && targetRegex is null)
            throw Refuse(path, "target_modules", "is missing", "name the adapted modules (a list, or one regular expression).");
        if (targetRegex == "all-linear")
            throw Refuse(path, "target_modules", "is \"all-linear\"", "this shorthand depends on transformers' model classes; list the modules (or give a regular expression) instead.");
        var (excludeList, excludeRegex) = NamesOrRegex(path, root, "exclude_modules");
        var modulesToSave = root.TryGetPropertyValue("modules_to_save", out var saveNode) && !IsUnset(saveNode)
            ? StringList(path, "modules_to_save", saveNode!)
            : Array.Empty<string>();

        // AdaLoRA's rank_pattern holds the kept triplets (AdaLora); it ignores alpha_pattern.
        var adaLoraConfig = adaLora ? ReadAdaLora(path, root, warn) : null;
        var rankPattern = adaLora ? Array.Empty<KeyValuePair<string, int>>() : Pattern(path, root, "rank_pattern", (key, node) =>
        {
            int value = IntOf(path, $"rank_pattern[\"{key}\"]", node);
            return value >= 1 ? value : throw Refuse(path, $"rank_pattern[\"{key}\"]", $"is {value}", "a LoRA rank must be at least 1.");
        });
        var alphaPattern = adaLora ? Array.Empty<KeyValuePair<string, double>>() : Pattern(path, root, "alpha_pattern", (key, node) =>
        {
            double value = NumberOf(path, $"alpha_pattern[\"{key}\"]", node);
            return double.IsFinite(value) && value > 0 ? value : throw Refuse(path, $"alpha_pattern[\"{key}\"]", $"is {value}", "α must be a finite number greater than 0.");
        });
        var patterns = rankPattern.Select(p => ($"rank_pattern[\"{p.Key}\"]", (string?)p.Key)).Concat(alphaPattern.Select(p => ($"alpha_pattern[\"{p.Key}\"]", (string?)p.Key)))
            .Append(("target_modules", targetRegex)).Append(("exclude_modules", excludeRegex))
            .Concat(modulesToSave.Select(m => ("modules_to_save", (string?)m))); // PEFT matches them as re.match(rf"(^|.*\.){m}($|\..*)", key)
        foreach (var (field, pattern) in patterns)
            if (pattern is not null) PeftMatching.CheckRegex(path, field, pattern);

        return new PeftAdapterConfig
        {
            R = r,
            LoraAlpha = alpha,
            UseRsLora = !adaLora && Bool(path, root, "use_rslora"),
            UseDora = Bool(path, root, "use_dora"),
            TargetModuleList = targetList,
            TargetModuleRegex = targetRegex,
            ExcludeModuleList = excludeList,
            ExcludeModuleRegex = excludeRegex,
            ModulesToSave = modulesToSave,
            RankPattern = rankPattern,
            AlphaPattern = alphaPattern,
            AdaLora = adaLoraConfig,
        };
    }

    /// <summary>
    /// Checks <c>init_lora_weights</c> the way PEFT's <c>LoraLayer.update_layer</c> uses it when it loads the adapter.
    /// True, false, null and "gaussian" only draw lora_A/lora_B, which the file then overwrites; "eva", "orthogonal" and
    /// "mica" likewise leave the base weights alone. PiSSA ("pissa", "pissa_niter_…"), CorDA ("corda…"), OLoRA and LoftQ
    /// are re-run at load and rewrite the base layer's weight (W − s·B₀A₀, or LoftQ's quantised W), so PEFT computes a
    /// model Flora's adapter on the unchanged base does not: refused, with the fix PEFT documents. "lora_ga" falls back
    /// to the default draw at load (no gradients), so PEFT computes what Flora does, but not the trained model, whose base
    /// LoRA-GA had rewritten: a warning. Any other value PEFT refuses ("Unknown initialization").
    /// </summary>
    private static void CheckInitialisation(string path, JsonObject root, Action<string>? warn)
    {
        const string field = "init_lora_weights";
        if (!root.TryGetPropertyValue(field, out var node) || node is null) return;
        if (node is JsonValue b && b.TryGetValue(out bool _)) return;
        if (node is not JsonValue v || !v.TryGetValue(out string? value))
            throw Refuse(path, field, $"is {Show(node)}", "it must be true, false or the name of one of PEFT's initialisations (\"gaussian\", \"eva\", …); PEFT fails on other values.");
        string lower = value.ToLowerInvariant();
        const string convert =
            "Convert it in PEFT first: save it with save_pretrained(dir, path_initial_model_for_weight_conversion=...) (a plain LoRA of rank 2r for the original " +
            "base weights, init_lora_weights true), or merge it into the base with merge_and_unload() and use the merged weights as the base model.";
        string? rewrite = value.StartsWith("pissa", StringComparison.Ordinal) ? "PiSSA"
            : value.StartsWith("corda", StringComparison.Ordinal) ? "CorDA"
            : lower == "olora" ? "OLoRA"
            : null;
        if (rewrite is not null)
            throw Refuse(path, field, $"is {Show(node)}",
                $"PEFT re-runs {rewrite}'s initialisation when it loads this adapter and rewrites the base weights (W − scale·B₀A₀), so the adapter computes the trained " +
                $"model only on those rewritten weights, which Flora does not produce. {convert}");
        if (value == "loftq")
            throw Refuse(path, field, $"is {Show(node)}",
                "PEFT re-runs LoftQ when it loads this adapter and rewrites the base weights with their quantised approximation, which Flora does not produce. " +
                "Merge it in PEFT first (merge_and_unload() on the LoftQ model) and use the merged weights as the base model.");
        if (value == "lora_ga")
        {
            warn?.Invoke($"Adapter file '{path}', key '{field}': \"lora_ga\": LoRA-GA rewrote the base weights when training started, and PEFT's from_pretrained " +
                         "does not redo that (it computes what Flora computes here: the original base plus this LoRA), so neither reproduces the trained model. " +
                         "Save it in PEFT with save_pretrained(dir, path_initial_model_for_weight_conversion=...) to get a LoRA for the original base.");
            return;
        }
        if (lower is "gaussian" or "mica" || value is "eva" or "orthogonal") return;
        throw Refuse(path, field, $"is {Show(node)}",
            "PEFT itself refuses it when it loads the adapter (\"Unknown initialization\"). Use true (PEFT's default) or the name of one of PEFT's initialisations.");
    }

    /// <summary>
    /// The JSON PEFT's <c>LoraConfig.from_pretrained</c> reads: this configuration plus the defaults PEFT writes for the
    /// options Flora does not use (no biases, no dropout, no layer selection by index), inference mode on; for AdaLoRA
    /// also its own fields (<see cref="AdaLoraFieldsJson"/>).
    /// </summary>
    public string ToJson()
    {
        var root = new JsonObject
        {
            ["peft_type"] = AdaLora is null ? "LORA" : "ADALORA",
            ["task_type"] = null,
            ["base_model_name_or_path"] = null,
            ["revision"] = null,
            ["inference_mode"] = true,
            ["r"] = R,
            ["lora_alpha"] = JsonNumber(LoraAlpha),
            ["lora_dropout"] = 0.0,
            ["use_rslora"] = UseRsLora,
            ["use_dora"] = UseDora,
            ["target_modules"] = TargetModuleRegex is not null ? JsonValue.Create(TargetModuleRegex) : new JsonArray((TargetModuleList ?? Array.Empty<string>()).Select(t => (JsonNode?)JsonValue.Create(t)).ToArray()),
            ["exclude_modules"] = null,
            ["modules_to_save"] = ModulesToSave.Count == 0 ? null : new JsonArray(ModulesToSave.Select(m => (JsonNode?)JsonValue.Create(m)).ToArray()),
            ["rank_pattern"] = new JsonObject(RankPattern.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)JsonValue.Create(p.Value)))),
            ["alpha_pattern"] = new JsonObject(AlphaPattern.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)JsonNumber(p.Value)))),
            ["bias"] = "none",
            ["lora_bias"] = false,
            ["fan_in_fan_out"] = false,
            ["init_lora_weights"] = true,
            ["layers_to_transform"] = null,
            ["layers_pattern"] = null,
            ["target_parameters"] = null,
        };
        if (AdaLora is not null)
            foreach (var (name, value) in AdaLoraFieldsJson()) root[name] = value;
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>An integral α as a JSON integer (PEFT's type hint is int), any other as a number.</summary>
    private static JsonNode JsonNumber(double value) =>
        value == Math.Floor(value) && Math.Abs(value) < 1e15 ? JsonValue.Create((long)value) : JsonValue.Create(value);

    private static AdapterFileException Refuse(string path, string field, string what, string fix) =>
        new(path, field, $"field '{field}' {what}: {fix}");

    /// <summary>Null, false, 0-free empties: values PEFT treats as "option off".</summary>
    private static bool IsUnset(JsonNode? value) => value switch
    {
        null => true,
        JsonArray array => array.Count == 0,
        JsonObject obj => obj.Count == 0,
        JsonValue v when v.TryGetValue(out bool b) => !b,
        JsonValue v when v.TryGetValue(out string? s) => s.Length == 0,
        _ => false,
    };

    private static string Show(JsonNode? value) => value?.ToJsonString() ?? "null";

    private static string? String(string path, JsonObject root, string field)
    {
        if (!root.TryGetPropertyValue(field, out var node) || node is null) return null;
        return node is JsonValue v && v.TryGetValue(out string? s) ? s : throw Refuse(path, field, $"is {Show(node)}", "it must be a string.");
    }

    private static bool Bool(string path, JsonObject root, string field)
    {
        if (!root.TryGetPropertyValue(field, out var node) || node is null) return false;
        return node is JsonValue v && v.TryGetValue(out bool b) ? b : throw Refuse(path, field, $"is {Show(node)}", "it must be true or false.");
    }

    private static int? Int(string path, JsonObject root, string field) =>
        root.TryGetPropertyValue(field, out var node) && node is not null ? IntOf(path, field, node) : null;

    private static double? Number(string path, JsonObject root, string field) =>
        root.TryGetPropertyValue(field, out var node) && node is not null ? NumberOf(path, field, node) : null;

    private static int IntOf(string path, string field, JsonNode node)
    {
        double value = NumberOf(path, field, node);
        return value == Math.Floor(value) && value is >= int.MinValue and <= int.MaxValue
            ? (int)value
            : throw Refuse(path, field, $"is {Show(node)}", "it must be a whole number.");
    }

    private static double NumberOf(string path, string field, JsonNode node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.Number
            ? v.GetValue<double>()
            : throw Refuse(path, field, $"is {Show(node)}", "it must be a number.");

    private static IReadOnlyList<string> StringList(string path, string field, JsonNode node) =>
        node is JsonArray array && array.All(e => e is JsonValue v && v.TryGetValue(out string? _))
            ? array.Select(e => e!.GetValue<string>()).ToArray()
            : throw Refuse(path, field, $"is {Show(node)}", "it must be a list of module names.");

    private static (IReadOnlyList<string>? List, string? Regex) NamesOrRegex(string path, JsonObject root, string field)
    {
        if (!root.TryGetPropertyValue(field, out var node) || node is null) return (null, null);
        if (node is JsonValue v && v.TryGetValue(out string? regex)) return (null, regex);
        return (StringList(path, field, node), null);
    }

    private static IReadOnlyList<KeyValuePair<string, T>> Pattern<T>(string path, JsonObject root, string field, Func<string, JsonNode, T> read)
    {
        if (!root.TryGetPropertyValue(field, out var node) || node is null) return Array.Empty<KeyValuePair<string, T>>();
        if (node is not JsonObject obj) throw Refuse(path, field, $"is {Show(node)}", "it must be an object from module-name pattern to value.");
        return obj.Select(p => KeyValuePair.Create(p.Key, p.Value is null
            ? throw Refuse(path, $"{field}[\"{p.Key}\"]", "is null", "give a number.")
            : read(p.Key, p.Value))).ToArray();
    }

    /// <summary>A value for messages, with invariant digits.</summary>
    internal static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
