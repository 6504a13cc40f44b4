using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;

namespace Flora;

/// <summary>
/// One entry of an AdaLoRA <c>rank_pattern</c>: PEFT's key (<c>fc.lora_E</c>, as <c>save_pretrained</c> writes it, or
/// <c>fc.lora_E.default</c> as training holds it), the module it resizes, and which of its <c>init_r</c> triplets are kept.
/// </summary>
internal sealed record PeftRankPattern(string Key, string Path, bool[] Kept);

/// <summary>
/// What an <c>ADALORA</c> configuration adds (PEFT's <c>AdaLoraConfig</c>): the allocation's settings as
/// <see cref="AdaLoraOptions"/> (initial and target rank, schedule, smoothing, orthogonality weight, total steps) and the
/// kept triplets per module (<c>rank_pattern</c>, null before any allocation), by which PEFT saves only the kept rows.
/// </summary>
internal sealed record PeftAdaLoraConfig(AdaLoraOptions Options, IReadOnlyList<PeftRankPattern>? RankPattern)
{
    /// <summary>PEFT's <c>init_r</c>: every target's rank before resizing.</summary>
    public int InitR => Options.InitRank!.Value;

    /// <summary>PEFT's <c>target_r</c>: the average rank the allocation keeps.</summary>
    public int TargetR => Options.TargetRank!.Value;

    /// <summary>The kept triplets of the module at PEFT path <paramref name="path"/>, or null when <c>rank_pattern</c> does not resize it.</summary>
    public bool[]? KeptOf(string path) => RankPattern?.FirstOrDefault(p => p.Path == path)?.Kept;
}

internal sealed partial record PeftAdapterConfig
{
    /// <summary>AdaLoRA's fields (peft_type <c>ADALORA</c>); null for a LoRA configuration.</summary>
    public PeftAdaLoraConfig? AdaLora { get; init; }

    /// <summary>The fields <c>AdaLoraConfig</c> adds to <c>LoraConfig</c> (its <c>rank_pattern</c> replaces LoRA's).</summary>
    private static readonly HashSet<string> AdaLoraFields = new(StringComparer.Ordinal)
    {
        "target_r", "init_r", "tinit", "tfinal", "deltaT", "beta1", "beta2", "orth_reg_weight", "total_step",
    };

    /// <summary>PEFT's adapter name, which <c>rank_pattern</c> keys may still hold (<c>resize_modules_by_rank_pattern</c>).</summary>
    private const string AdapterName = "default";

    /// <summary>
    /// Reads and checks AdaLoRA's fields as PEFT does: <c>total_step</c> must be set and leave a budgeting phase
    /// (<c>AdaLoraConfig.__post_init__</c> refuses otherwise), DoRA is refused, <c>orth_reg_weight</c> is at least 0; the
    /// ranks, schedule and smoothing must be what the allocation can run with (what PEFT's <c>RankAllocator</c> asserts).
    /// <c>rank_pattern</c> holds one list of <c>init_r</c> booleans per module. PEFT's AdaLoRA ignores <c>r</c>,
    /// <c>use_rslora</c> and <c>alpha_pattern</c> (every layer scales by <c>lora_alpha/(ranknum + 1e-5)</c>): the last two
    /// are reported to <paramref name="warn"/> when set.
    /// </summary>
    private static PeftAdaLoraConfig ReadAdaLora(string path, JsonObject root, Action<string>? warn)
    {
        if (Bool(path, root, "use_dora"))
            throw Refuse(path, "use_dora", "is true", "PEFT's AdaLoraConfig refuses DoRA too (\"ADALORA does not support DoRA\"). Save the adapter again without use_dora.");
        if (Bool(path, root, "use_rslora"))
            warn?.Invoke($"Adapter file '{path}', key 'use_rslora': PEFT's AdaLoRA ignores it (every layer scales by lora_alpha/(ranknum + 1e-5)), and so does Flora.");
        if (root.TryGetPropertyValue("alpha_pattern", out var alphas) && !IsUnset(alphas))
            warn?.Invoke($"Adapter file '{path}', key 'alpha_pattern': PEFT's AdaLoRA ignores it (value {Show(alphas)}; every layer uses lora_alpha), and so does Flora.");

        int initR = Int(path, root, "init_r") ?? 12;
        if (initR < 1) throw Refuse(path, "init_r", $"is {initR}", "Flora's AdaLoRA needs at least one triplet per layer.");
        int targetR = Int(path, root, "target_r") ?? 8;
        if (targetR < 1 || targetR > initR)
            throw Refuse(path, "target_r", $"is {targetR}", $"the allocation keeps target_r of init_r triplets per layer on average: it must be between 1 and init_r ({initR}).");
        if (!root.TryGetPropertyValue("total_step", out var totalNode) || totalNode is null)
            throw Refuse(path, "total_step", "is missing", "PEFT refuses it too (\"AdaLoRA does not work when total_step is None\"). Write the training's number of steps.");
        int total = IntOf(path, "total_step", totalNode);
        if (total < 1) throw Refuse(path, "total_step", $"is {total}", "PEFT refuses it too: it must be a number of steps greater than 0.");
        int tinit = Int(path, root, "tinit") ?? 0, tfinal = Int(path, root, "tfinal") ?? 0, deltaT = Int(path, root, "deltaT") ?? 1;
        if (tinit < 0) throw Refuse(path, "tinit", $"is {tinit}", "it is a number of warm-up steps, 0 or more.");
        if (tfinal < 0) throw Refuse(path, "tfinal", $"is {tfinal}", "it is a number of final steps, 0 or more.");
        if (tinit >= total - tfinal)
            throw Refuse(path, "tinit", $"is {tinit} with tfinal {tfinal} and total_step {total}", "PEFT refuses it too: the schedule must leave steps for the budget to fall (tinit < total_step − tfinal).");
        if (deltaT < 1) throw Refuse(path, "deltaT", $"is {deltaT}", "it is the number of steps between allocations, at least 1.");
        double beta1 = Number(path, root, "beta1") ?? 0.85, beta2 = Number(path, root, "beta2") ?? 0.85;
        if (!(beta1 > 0 && beta1 < 1)) throw Refuse(path, "beta1", $"is {Format(beta1)}", "PEFT's RankAllocator needs 0 < beta1 < 1.");
        if (!(beta2 > 0 && beta2 < 1)) throw Refuse(path, "beta2", $"is {Format(beta2)}", "PEFT's RankAllocator needs 0 < beta2 < 1.");
        double orth = Number(path, root, "orth_reg_weight") ?? 0.5;
        if (!(orth >= 0)) throw Refuse(path, "orth_reg_weight", $"is {Format(orth)}", "PEFT refuses it too: the weight must be 0 or more.");

        var options = new AdaLoraOptions
        {
            TargetRank = targetR, InitRank = initR, TInit = tinit, TFinal = tfinal, DeltaT = deltaT,
            Beta1 = beta1, Beta2 = beta2, OrthRegWeight = orth, TotalSteps = total,
        };
        return new PeftAdaLoraConfig(options, ReadRankPattern(path, root, initR));
    }

    /// <summary>
    /// AdaLoRA's <c>rank_pattern</c>: null, or one list of <paramref name="initR"/> booleans per key. The module is the key
    /// without its last component (<c>lora_E</c>), or its last two where the key still holds the adapter name, as PEFT's
    /// <c>resize_modules_by_rank_pattern</c> reads it.
    /// </summary>
    private static IReadOnlyList<PeftRankPattern>? ReadRankPattern(string path, JsonObject root, int initR)
    {
        if (!root.TryGetPropertyValue("rank_pattern", out var node) || node is null) return null;
        if (node is not JsonObject patterns)
            throw Refuse(path, "rank_pattern", $"is {Show(node)}", "AdaLoRA's rank_pattern is an object from a layer's lora_E to the list of its kept triplets.");
        var result = new List<PeftRankPattern>();
        foreach (var (key, value) in patterns)
        {
            string field = $"rank_pattern[\"{key}\"]";
            if (value is not JsonArray list || !list.All(e => e is JsonValue v && v.TryGetValue(out bool _)))
                throw Refuse(path, field, $"is {Show(value)}", "AdaLoRA's rank_pattern holds one list of true/false per layer (which triplets are kept).");
            if (list.Count != initR)
                throw Refuse(path, field, $"has {list.Count} entries", $"PEFT picks the kept triplets among the init_r ({initR}) it creates with it, so it needs {initR}.");
            string[] parts = key.Split('.');
            int drop = key.Contains(AdapterName, StringComparison.Ordinal) ? 2 : 1;
            if (parts.Length <= drop)
                throw Refuse(path, field, "names no module", "the key is a layer's path followed by lora_E, e.g. \"fc.lora_E\".");
            string module = string.Join(".", parts[..^drop]);
            if (result.Any(p => p.Path == module))
                throw Refuse(path, field, $"names '{module}' again", "each layer has one entry; keep the one the adapter was saved with.");
            result.Add(new PeftRankPattern(key, module, list.Select(e => e!.GetValue<bool>()).ToArray()));
        }
        return result;
    }

    /// <summary>AdaLoRA's fields as <c>AdaLoraConfig</c> writes them; the rank pattern under PEFT's saved keys (<c>{path}.lora_E</c>).</summary>
    private IEnumerable<(string Name, JsonNode? Value)> AdaLoraFieldsJson()
    {
        var options = AdaLora!.Options;
        yield return ("init_r", AdaLora.InitR);
        yield return ("target_r", AdaLora.TargetR);
        yield return ("tinit", options.TInit);
        yield return ("tfinal", options.TFinal);
        yield return ("deltaT", options.DeltaT);
        yield return ("beta1", options.Beta1);
        yield return ("beta2", options.Beta2);
        yield return ("orth_reg_weight", options.OrthRegWeight);
        yield return ("total_step", options.TotalSteps);
        yield return ("rank_pattern", AdaLora.RankPattern is null ? null
            : new JsonObject(AdaLora.RankPattern.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)new JsonArray(p.Kept.Select(k => (JsonNode?)JsonValue.Create(k)).ToArray())))));
    }
}
