using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// Reads a directory PEFT's <c>save_pretrained</c> wrote for a LoRA or DoRA adapter (<see cref="PeftAdapterConfig"/> and
/// <c>adapter_model.safetensors</c>, keys as <see cref="PeftKeys"/> describes) onto a TorchSharp model: Flora LoRA/DoRA
/// adapters that compute PEFT's function (rank and α per target by PEFT's own rules, <see cref="PeftMatching"/>), the
/// modules to save, and their tensors. Everything — the configuration, every key, shape, dtype and value, every target
/// layer's type and geometry — is checked before the model is touched; a refusal throws
/// <see cref="AdapterFileException"/> naming the file, the field or key and the fix, and leaves the model bit-identical
/// (also for a missing directory or file, a damaged safetensors file, a pattern that is not a valid regular expression or
/// that backtracks catastrophically, and a <see cref="PeftImportOptions.MapPath"/> that is not one to one).
/// <para>
/// Refused because PEFT computes something Flora's adapters do not: grouped convolutions (PEFT's lora_A is not grouped
/// while lora_B is), dilated convolutions (PEFT's conv LoRA drops <c>dilation</c>: huggingface/peft#3697), padding modes
/// other than zeros (PEFT's lora_A pads with zeros), embedding bags and other layer types. An Embedding target
/// (<c>lora_embedding_A</c>/<c>lora_embedding_B</c>) becomes a <see cref="LoraEmbedding"/> (<see cref="DoraEmbedding"/>
/// with <c>use_dora</c>). A MultiheadAttention target (<c>{attn}.lora_A/B</c> and <c>{attn}.base_layer.out_proj.lora_A/B</c>)
/// becomes LoRA adapters on <c>{attn}.in_proj</c> and <c>{attn}.out_proj</c> computing what PEFT computes
/// (<see cref="PeftAttention"/>); DoRA there, which PEFT refuses, is refused.
/// </para>
/// <para>
/// An <c>ADALORA</c> directory becomes Flora AdaLoRA adapters (<see cref="PlanAdaLora"/>) on the Linear and Conv2d
/// targets PEFT's SVD layers adapt (groups = 1, zero padding), every one with <c>init_r</c> triplets: where PEFT saved
/// only the kept ones (<c>rank_pattern</c>), they go back to their positions and the others stay zero and masked; the
/// allocation's settings come from the file.
/// </para>
/// </summary>
internal static class PeftImporter
{
    /// <summary>One target's tensors from the file, by PEFT path: LoRA's A, B and DoRA's magnitude, or AdaLoRA's A, B and E.</summary>
    private sealed class TargetTensors
    {
        public Tensor? A, B, Magnitude, E;

        /// <summary>Whether A and B came as an Embedding's <c>lora_embedding_A</c>/<c>lora_embedding_B</c>.</summary>
        public bool EmbeddingKeys;

        public Tensor? this[Slot slot]
        {
            get => slot switch { Slot.A => A, Slot.B => B, Slot.Magnitude => Magnitude, _ => E };
            set
            {
                switch (slot)
                {
                    case Slot.A: A = value; break;
                    case Slot.B: B = value; break;
                    case Slot.Magnitude: Magnitude = value; break;
                    default: E = value; break;
                }
            }
        }
    }

    private enum Slot { A, B, Magnitude, E }

    /// <summary>The key suffixes of a LoRA (and DoRA) target, and of an AdaLoRA target.</summary>
    private static readonly (string Suffix, Slot Slot)[] LoraKeys =
    {
        (PeftKeys.LoraA, Slot.A), (PeftKeys.LoraB, Slot.B), (PeftKeys.Magnitude, Slot.Magnitude),
        (PeftKeys.LoraEmbeddingA, Slot.A), (PeftKeys.LoraEmbeddingB, Slot.B),
    };
    private static readonly (string Suffix, Slot Slot)[] AdaLoraKeys = { (PeftKeys.AdaLoraA, Slot.A), (PeftKeys.AdaLoraB, Slot.B), (PeftKeys.AdaLoraE, Slot.E) };

    /// <summary>
    /// A target ready to attach: the model's node, and what to create and load (AdaLoRA: its kept triplets, when resized);
    /// for a MultiheadAttention, the projection of the node it adapts (<see cref="PeftAttention"/>).
    /// </summary>
    private sealed record PlannedTarget(ModuleTree.Node Node, AdapterSpec Spec, TargetTensors Tensors, bool[]? Kept = null, string? Projection = null)
    {
        /// <summary>The adapter's path in the model: the node's, or <c>{attention}.in_proj</c> / <c>{attention}.out_proj</c>.</summary>
        public string Path => Projection is null ? Node.Path : Node.Path + "." + Projection;
    }

    /// <summary>A directory read and checked against a model: the method, the targets with their tensors, the modules to save with theirs.</summary>
    private sealed record DirectoryPlan(FloraMethod Method, AdaLoraOptions? AdaLora, List<PlannedTarget> Targets,
        List<(ModuleTree.Node Node, Dictionary<string, Tensor> Tensors)> SavedModules, string ConfigPath, string WeightsPath);

    /// <summary>
    /// Attaches the directory's adapter to <paramref name="model"/> as "default", and every adapter PEFT's multi-adapter
    /// layout keeps in a sub-directory (<c>&lt;directory&gt;/&lt;name&gt;/adapter_config.json</c>, as <c>save_pretrained</c>
    /// writes the adapters not named "default") as a named adapter of that name; the model stays as it was when any fails.
    /// </summary>
    public static FloraAttachment Attach(nn.Module model, string directory, PeftImportOptions? options)
    {
        ArgumentNullException.ThrowIfNull(model);
        var attachment = WithPlan(model, directory, options, plan => AttachPlanned(model, plan));
        try
        {
            foreach (var sub in PeftAdapterConfig.AdapterSubdirectories(directory))
                LoadInto(attachment, sub, Path.GetFileName(sub), options);
        }
        catch
        {
            attachment.Detach();
            throw;
        }
        return attachment;
    }

    /// <summary>Loads the PEFT directory <paramref name="directory"/> into <paramref name="attachment"/> as the new named adapter <paramref name="name"/> (PEFT's <c>load_adapter</c>).</summary>
    public static void LoadInto(FloraAttachment attachment, string directory, string name, PeftImportOptions? options) =>
        WithPlan(attachment.Model, directory, options, plan =>
        {
            attachment.AddLoadedAdapter(name, plan.Method, plan.AdaLora, plan.Targets.ToDictionary(t => t.Path, t => t.Spec, StringComparer.Ordinal), plan.ConfigPath,
                content => Load(content, plan));
            return 0;
        });

    /// <summary>Reads and checks the directory against <paramref name="model"/>, then hands the plan to <paramref name="use"/> while the file's tensors are open.</summary>
    private static T WithPlan<T>(nn.Module model, string directory, PeftImportOptions? options, Func<DirectoryPlan, T> use)
    {
        ArgumentNullException.ThrowIfNull(directory);
        PeftAdapterConfig config = PeftAdapterConfig.Read(directory, options?.OnWarning);
        string configPath = Path.Combine(directory, PeftAdapterConfig.FileName);
        string weightsPath = Path.Combine(directory, PeftKeys.WeightsFileName);
        string missingFix = File.Exists(Path.Combine(directory, "adapter_model.bin"))
            ? "The directory holds adapter_model.bin (a pickle, which Flora never reads): save with safe_serialization=True (PEFT's default)."
            : "Save the adapter with PEFT's save_pretrained (safetensors, the default).";
        using var content = AdapterFile.LoadSafetensors(weightsPath, missingFix);
        DirectoryPlan plan;
        try
        {
            plan = MakePlan(model, config, configPath, weightsPath, content, options);
        }
        catch (ModulePatternException e) when (e.Field is not null)
        {
            // A pattern of the file that backtracks catastrophically shows only when it is matched against the model's names.
            throw PeftMatching.Refusal(configPath, e);
        }
        return use(plan);
    }

    private static DirectoryPlan MakePlan(nn.Module model, PeftAdapterConfig config, string configPath, string weightsPath, SafetensorsContent content, PeftImportOptions? options)
    {
        var (targetTensors, savedTensors) = Classify(config, weightsPath, content);

        // A layer that already has an adapter (loading into an attachment) is planned on its base layer; a wrapped
        // MultiheadAttention on the attention layer, whose wrapper's own children PEFT's model does not have.
        var walked = ModuleTree.Walk(model).ToList();
        var wrappers = walked.Where(n => n.Module is FloraMultiheadAttention).Select(n => n.Path).ToList();
        var nodes = walked
            .Where(n => !wrappers.Any(w => ModuleTree.IsBelow(n.Path, w)))
            .Select(n => n.Module switch
            {
                IFloraAdapter adapter => n with { Module = adapter.BaseLayer },
                FloraMultiheadAttention attention => n with { Module = attention.Base },
                _ => n,
            }).ToList();
        var byPath = new Dictionary<string, ModuleTree.Node>(StringComparer.Ordinal);
        foreach (var node in nodes) byPath.TryAdd(node.Path, node);
        var mappedFrom = new Dictionary<string, string>(StringComparer.Ordinal); // model path → the PEFT path mapped onto it
        ModuleTree.Node NodeFor(string peftPath, string key, string what)
        {
            string modelPath = options?.MapPath is { } map
                ? map(peftPath) ?? throw new AdapterFileException(weightsPath, key,
                    $"PeftImportOptions.MapPath returned null for '{peftPath}'. It must return the model's path of every module the file holds (the name unchanged where the model uses PEFT's).")
                : peftPath;
            if (mappedFrom.TryGetValue(modelPath, out var other))
                throw new AdapterFileException(weightsPath, key,
                    $"PeftImportOptions.MapPath maps both '{other}' and '{peftPath}' onto the model's '{modelPath}'. Map PEFT's module names onto the model's one to one (one module each).");
            mappedFrom[modelPath] = peftPath;
            if (byPath.TryGetValue(modelPath, out var node)) return node;
            throw new AdapterFileException(weightsPath, key, $"the file holds {what} '{peftPath}', but the model has no module '{modelPath}'. " +
                                                             "Load it onto the model it was trained on, or give PeftImportOptions.MapPath to map PEFT's module names onto the model's.");
        }

        // A MultiheadAttention's two projections name one module: its node is found once.
        var attentionNodes = new Dictionary<string, ModuleTree.Node>(StringComparer.Ordinal);
        bool IsAttention(string peftPath) =>
            (options?.MapPath is { } map ? map(peftPath) : peftPath) is { } modelPath && byPath.TryGetValue(modelPath, out var node) && node.Module is MultiheadAttention;
        var planned = new List<PlannedTarget>();
        foreach (var (peftPath, tensors) in targetTensors)
        {
            string keyA = PeftKeys.Of(peftPath, config.AdaLora is null ? PeftKeys.LoraA : PeftKeys.AdaLoraA);
            string? attention = config.AdaLora is null ? PeftAttention.AttentionOfOutProjection(peftPath) : null;
            if (attention is not null && !IsAttention(attention)) attention = null;
            string targetPath = attention ?? peftPath;
            if (!PeftMatching.IsTarget(config, targetPath))
                throw new AdapterFileException(configPath, "target_modules", $"the weights hold an adapter for '{peftPath}', but target_modules (with exclude_modules and modules_to_save) does not select {(attention is null ? "it" : $"its MultiheadAttention '{attention}'")}, so PEFT would not load it. The directory is inconsistent; save it again with PEFT.");
            if (config.AdaLora is null && (attention is not null || IsAttention(peftPath)))
            {
                if (!attentionNodes.TryGetValue(targetPath, out var attentionNode))
                    attentionNodes[targetPath] = attentionNode = NodeFor(targetPath, keyA, "an adapter for");
                string projection = attention is null ? PeftAttention.InProjection : PeftAttention.OutProjection;
                planned.Add(new PlannedTarget(attentionNode, PlanAttention(config, weightsPath, configPath, peftPath, targetPath, attentionNode, projection, tensors), tensors, Projection: projection));
                continue;
            }
            var node = NodeFor(peftPath, keyA, "an adapter for");
            planned.Add(config.AdaLora is null
                ? new PlannedTarget(node, Plan(config, weightsPath, configPath, peftPath, node, tensors), tensors)
                : new PlannedTarget(node, PlanAdaLora(config, weightsPath, peftPath, node, tensors), tensors, config.AdaLora.KeptOf(peftPath)));
        }
        foreach (var (attentionPath, node) in attentionNodes)
            if (planned.Count(p => p.Node.Path == node.Path) != 2)
                throw new AdapterFileException(weightsPath, PeftKeys.Of(planned.Any(p => p.Node.Path == node.Path && p.Projection == PeftAttention.InProjection) ? PeftAttention.OutProjectionPath(attentionPath) : attentionPath, PeftKeys.LoraA),
                    $"the tensor is missing: PEFT's LoRA of the MultiheadAttention '{attentionPath}' adapts both projections (lora_A/lora_B on the layer for in_proj_weight, on base_layer.out_proj for out_proj). The file is incomplete; save it again with PEFT.");
        foreach (var pattern in config.AdaLora?.RankPattern ?? Array.Empty<PeftRankPattern>())
            if (targetTensors.All(t => t.Path != pattern.Path))
                throw new AdapterFileException(configPath, $"rank_pattern[\"{pattern.Key}\"]", $"it resizes '{pattern.Path}', which has no AdaLoRA adapter in {PeftKeys.WeightsFileName}, " +
                                                                                          "so PEFT would fail to load the directory. The directory is inconsistent; save it again with PEFT.");
        var savedModules = new List<(ModuleTree.Node Node, Dictionary<string, Tensor> Tensors)>();
        foreach (var (peftPath, tensors) in savedTensors)
        {
            var node = NodeFor(peftPath, PeftKeys.Of(peftPath, tensors.Keys.First()), "the saved module");
            CheckSavedModule(weightsPath, peftPath, node.Module, tensors);
            savedModules.Add((node, tensors));
        }
        var position = nodes.Select((n, i) => (n.Path, i)).GroupBy(p => p.Path).ToDictionary(g => g.Key, g => g.First().i, StringComparer.Ordinal);
        planned = planned.OrderBy(p => position[p.Node.Path]).ThenBy(p => p.Path, StringComparer.Ordinal).ToList();
        savedModules = savedModules.OrderBy(m => position[m.Node.Path]).ToList();
        if (options?.MapPath is null)
            CheckEverySelectedModuleIsInTheFile(config, configPath, nodes, targetTensors.Select(t => t.Path).ToHashSet(StringComparer.Ordinal), savedTensors.Select(s => s.Path).ToHashSet(StringComparer.Ordinal));
        if (planned.Count == 0)
            throw new AdapterFileException(weightsPath, null, config.AdaLora is null
                ? "the file holds no LoRA adapter (no *.lora_A.weight keys). Save a LoRA adapter with PEFT's save_pretrained."
                : "the file holds no AdaLoRA adapter (no *.lora_A keys). Save an AdaLoRA adapter with PEFT's save_pretrained.");

        FloraMethod method = config.AdaLora is not null ? FloraMethod.AdaLora : config.UseDora ? FloraMethod.Dora : FloraMethod.Lora;
        return new DirectoryPlan(method, config.AdaLora?.Options, planned, savedModules, configPath, weightsPath);
    }

    /// <summary>Attaches what <paramref name="plan"/> holds to <paramref name="model"/> and loads its tensors.</summary>
    private static FloraAttachment AttachPlanned(nn.Module model, DirectoryPlan plan)
    {
        var specs = plan.Targets.ToDictionary(p => p.Path, p => p.Spec, StringComparer.Ordinal);
        FloraAttachment attachment;
        try
        {
            // A MultiheadAttention is wrapped once (the wrapper enters the model only when its projections take their adapters).
            var attentionTargets = plan.Targets.Where(p => p.Projection is not null).Select(p => p.Node).DistinctBy(n => n.Path)
                .SelectMany(n => FloraMultiheadAttention.Wrap(n.Parent, n.Child, n.Path, (MultiheadAttention)n.Module).Targets(FloraTargetOptions.Inherit))
                .ToDictionary(t => t.Slot.Path, StringComparer.Ordinal);
            var targets = plan.Targets.Select(p => p.Projection is null
                ? new FloraTarget(FloraInjector.SlotOf(p.Node, (nn.Module<Tensor, Tensor>)p.Node.Module), FloraTargetOptions.Inherit)
                : attentionTargets[p.Path]).ToList();
            attachment = FloraAttachment.Attach(model, targets, plan.SavedModules.Select(m => new ModuleToSave(m.Node.Path, m.Node.Module)).ToList(), saveNormLayers: false, plan.Method,
                target => AdapterDispatch.CreateFromSpec(plan.Method, target.Slot.Path, target.Slot.Layer, specs[target.Slot.Path]), plan.AdaLora);
        }
        catch (ArgumentException e)
        {
            throw new AdapterFileException(plan.ConfigPath, null, e.Message);
        }
        try
        {
            Load(attachment.ActiveContent, plan);
        }
        catch
        {
            attachment.Detach();
            throw;
        }
        return attachment;
    }

    /// <summary>Sorts the file's keys into targets' tensors and modules to save's tensors; refuses keys PEFT's LoRA (or AdaLoRA) never writes or Flora cannot express.</summary>
    private static (List<(string Path, TargetTensors Tensors)> Targets, List<(string Path, Dictionary<string, Tensor> Tensors)> Saved) Classify(
        PeftAdapterConfig config, string weightsPath, SafetensorsContent content)
    {
        var targets = new Dictionary<string, TargetTensors>(StringComparer.Ordinal);
        var saved = new Dictionary<string, Dictionary<string, Tensor>>(StringComparer.Ordinal);
        var keys = config.AdaLora is null ? LoraKeys : AdaLoraKeys;
        var order = new List<string>();
        foreach (var (key, tensor) in content.Tensors.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            if (!key.StartsWith(PeftKeys.Prefix, StringComparison.Ordinal))
                throw new AdapterFileException(weightsPath, key, $"the key does not start with '{PeftKeys.Prefix}', so PEFT's save_pretrained did not write it for a PeftModel. Save the adapter with PeftModel.save_pretrained.");
            string rest = key[PeftKeys.Prefix.Length..];
            if (config.AdaLora is not null && rest.Contains("lora_embedding_", StringComparison.Ordinal))
                throw new AdapterFileException(weightsPath, key, "it is a LoRA adapter on an embedding layer in an AdaLoRA directory, which PEFT's AdaLoRA never writes. Save the adapter again with PEFT.");
            if (rest.EndsWith(".lora_A.bias", StringComparison.Ordinal) || rest.EndsWith(".lora_B.bias", StringComparison.Ordinal))
                throw new AdapterFileException(weightsPath, key, "it is a bias of a LoRA matrix (lora_bias), which Flora's LoRA does not have. Train with lora_bias=False.");
            var (suffix, slot) = keys.FirstOrDefault(k => rest.EndsWith("." + k.Suffix, StringComparison.Ordinal));
            if (suffix is not null)
            {
                string targetPath = rest[..^(suffix.Length + 1)];
                if (!targets.TryGetValue(targetPath, out var entry)) targets[targetPath] = entry = new TargetTensors();
                entry[slot] = tensor;
                if (suffix is PeftKeys.LoraEmbeddingA or PeftKeys.LoraEmbeddingB) entry.EmbeddingKeys = true;
                continue;
            }
            string? module = SavedModuleOf(config, rest);
            if (module is null)
                throw new AdapterFileException(weightsPath, key, $"the key is neither {(config.AdaLora is null ? "a LoRA tensor (lora_A.weight, lora_B.weight, lora_magnitude_vector)" : "an AdaLoRA tensor (lora_A, lora_B, lora_E)")} " +
                                                                 "nor a tensor of a module modules_to_save selects. Flora reads LoRA, DoRA and AdaLoRA adapters saved by PEFT; other tensors " +
                                                                 "(e.g. trainable tokens or biases) are not supported.");
            if (!saved.TryGetValue(module, out var tensors)) saved[module] = tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            tensors[rest[(module.Length + 1)..]] = tensor;
        }
        foreach (var (path, entry) in targets)
        {
            if (config.AdaLora is not null)
            {
                var (missing, _) = AdaLoraKeys.FirstOrDefault(k => entry[k.Slot] is null);
                if (missing is not null)
                    throw new AdapterFileException(weightsPath, PeftKeys.Of(path, missing), "the tensor is missing (every AdaLoRA target has lora_A, lora_B and lora_E). The file is incomplete; save it again.");
                continue;
            }
            if (entry.A is null || entry.B is null)
            {
                string missing = entry.EmbeddingKeys
                    ? (entry.A is null ? PeftKeys.LoraEmbeddingA : PeftKeys.LoraEmbeddingB)
                    : (entry.A is null ? PeftKeys.LoraA : PeftKeys.LoraB);
                throw new AdapterFileException(weightsPath, PeftKeys.Of(path, missing), "the tensor is missing (every LoRA target has lora_A.weight and lora_B.weight, " +
                                                                                        "an embedding lora_embedding_A and lora_embedding_B). The file is incomplete; save it again.");
            }
            if (config.UseDora && entry.Magnitude is null)
                throw new AdapterFileException(weightsPath, PeftKeys.Of(path, PeftKeys.Magnitude), "the tensor is missing although use_dora is true. The file is incomplete; save it again.");
            if (!config.UseDora && entry.Magnitude is not null)
                throw new AdapterFileException(weightsPath, PeftKeys.Of(path, PeftKeys.Magnitude), "the file holds a DoRA magnitude but adapter_config.json has use_dora false. The directory is inconsistent; save it again with PEFT.");
        }
        return (targets.Select(t => (t.Key, t.Value)).ToList(), saved.Select(s => (s.Key, s.Value)).ToList());
    }

    /// <summary>The module to save a key belongs to: its shortest dotted prefix that a <c>modules_to_save</c> entry selects (PEFT wraps the outermost match).</summary>
    private static string? SavedModuleOf(PeftAdapterConfig config, string key)
    {
        for (int dot = key.IndexOf('.'); dot > 0; dot = key.IndexOf('.', dot + 1))
        {
            string prefix = key[..dot];
            if (config.ModulesToSave.Any(m => PeftMatching.SavesModule(m, prefix))) return prefix;
        }
        return null;
    }

    /// <summary>Checks a target's layer, rank and tensors and returns the spec of the adapter that computes PEFT's function.</summary>
    private static AdapterSpec Plan(PeftAdapterConfig config, string weightsPath, string configPath, string peftPath, ModuleTree.Node node, TargetTensors tensors)
    {
        string keyA = PeftKeys.Of(peftPath, PeftKeys.LoraA);
        nn.Module module = node.Module;
        CheckAdaptable(weightsPath, keyA, node, "LoRA");
        if (module is Convolution conv)
        {
            if (conv.transposed)
                throw new AdapterFileException(weightsPath, keyA, $"'{node.Path}' is a transposed convolution: PEFT has no LoRA layer for transposed convolutions, so this file was not written by PEFT for this layer.");
            if (conv.groups != 1)
                throw new AdapterFileException(weightsPath, keyA, $"'{node.Path}' is a grouped convolution (groups {conv.groups}). PEFT's LoRA on it (lora_A over all input channels, lora_B grouped) is not the update Flora's grouped LoRA computes. Train without targeting grouped convolutions.");
            if (conv.dilation.Any(d => d != 1))
                throw new AdapterFileException(weightsPath, keyA, $"'{node.Path}' is a dilated convolution (dilation ({string.Join(", ", conv.dilation)})). PEFT's conv LoRA ignores dilation (huggingface/peft#3697), so its update is not the low-rank update of this layer; Flora refuses rather than compute a different model. Train without targeting dilated convolutions.");
            if (conv.padding_mode != PaddingModes.Zeros)
                throw new AdapterFileException(weightsPath, keyA, $"'{node.Path}' pads with {conv.padding_mode}, but PEFT's lora_A pads with zeros, so its update is not the low-rank update of this layer. Train without targeting it.");
        }
        if (module is Embedding || tensors.EmbeddingKeys)
            return PlanEmbedding(config, weightsPath, configPath, peftPath, node, tensors);
        long[] weight = AdapterDispatch.WeightOf(node.Path, (nn.Module<Tensor, Tensor>)module).shape;
        return LowRankSpec(config, weightsPath, configPath, peftPath, peftPath, module.GetType().Name, weight, tensors);
    }

    /// <summary>
    /// Checks the tensors of a LoRA (DoRA) on a layer of type <paramref name="layerType"/> with weight <paramref name="weight"/>
    /// (<c>lora_A</c> <c>[r, in, k…]</c>, <c>lora_B</c> <c>[out, r, 1…]</c>) at the rank and α PEFT gives the module
    /// <paramref name="rankPath"/>, and returns the spec of the adapter that computes PEFT's function.
    /// </summary>
    private static AdapterSpec LowRankSpec(PeftAdapterConfig config, string weightsPath, string configPath, string peftPath, string rankPath, string layerType, long[] weight,
        TargetTensors tensors)
    {
        string keyA = PeftKeys.Of(peftPath, PeftKeys.LoraA);
        int kernelAxes = weight.Length - 2;
        Tensor a = tensors.A!, b = tensors.B!;
        string keyB = PeftKeys.Of(peftPath, PeftKeys.LoraB);
        var (rank, rankField) = PeftMatching.RankSource(config, rankPath);
        long[] ShapeA(long r) => new[] { r }.Concat(weight.Skip(1)).ToArray();
        long[] ShapeB(long r) => new[] { weight[0], r }.Concat(Enumerable.Repeat(1L, kernelAxes)).ToArray();
        // Both tensors fit the layer at another rank: the configuration, not a tensor, disagrees.
        long rows = a.dim() > 0 ? a.shape[0] : 0;
        if (rows != rank && rows > 0 && a.shape.SequenceEqual(ShapeA(rows)) && b.shape.SequenceEqual(ShapeB(rows)))
            throw new AdapterFileException(configPath, rankField,
                $"'{peftPath}' has rank {rank} by {rankField} (PEFT's get_pattern_key over rank_pattern, else r{(rankPath == peftPath ? "" : $", on its MultiheadAttention '{rankPath}'")}), but its lora_A in {PeftKeys.WeightsFileName} has {rows} rows (and lora_B {rows} columns). The directory is inconsistent; save it again with PEFT.");
        string layout = $" (lora_A is [r, in{(kernelAxes > 0 ? ", k…" : "")}], lora_B [out, r{(kernelAxes > 0 ? ", 1…" : "")}], with r = {rank} by {rankField})";
        CheckTensor(weightsPath, keyA, a, ShapeA(rank), layout);
        CheckTensor(weightsPath, keyB, b, ShapeB(rank), layout);
        if (tensors.Magnitude is Tensor m)
            CheckTensor(weightsPath, PeftKeys.Of(peftPath, PeftKeys.Magnitude), m,
                kernelAxes == 0 ? new[] { weight[0] } : new[] { 1L, weight[0] }.Concat(Enumerable.Repeat(1L, kernelAxes)).ToArray());
        double alpha = PeftMatching.AlphaFor(config, rankPath);
        double scale = config.UseRsLora ? alpha / Math.Sqrt(rank) : alpha / rank;
        return new AdapterSpec(layerType, weight, new[] { rank }, scale) { LoraAlpha = alpha, UseRsLora = config.UseRsLora };
    }

    /// <summary>
    /// One projection of a MultiheadAttention as PEFT's <c>lora.MultiheadAttention</c> saves it (<see cref="PeftAttention"/>):
    /// <c>lora_A</c> <c>[r, E]</c> and <c>lora_B</c> <c>[3E, r]</c> (in_proj_weight) or <c>[E, r]</c> (out_proj), rank and α
    /// resolved on the attention's name; a LoRA adapter on Flora's Linear view of the same weight computes PEFT's update,
    /// with α times what PEFT applies (<see cref="PeftAttention.OutProjectionApplications"/> for out_proj).
    /// </summary>
    private static AdapterSpec PlanAttention(PeftAdapterConfig config, string weightsPath, string configPath, string peftPath, string attentionPath, ModuleTree.Node node,
        string projection, TargetTensors tensors)
    {
        string keyA = PeftKeys.Of(peftPath, tensors.EmbeddingKeys ? PeftKeys.LoraEmbeddingA : PeftKeys.LoraA);
        var attention = (MultiheadAttention)node.Module;
        if (config.UseDora)
            throw new AdapterFileException(configPath, "use_dora", $"'{attentionPath}' is a MultiheadAttention, whose LoRA layer in PEFT refuses DoRA (lora.MultiheadAttention), so PEFT cannot have written this " +
                                                                   "directory for this model. Load it onto the model it was trained on, or train the attention layer with use_dora false.");
        if (tensors.EmbeddingKeys)
            throw new AdapterFileException(weightsPath, keyA, $"'{node.Path}' is a MultiheadAttention, but the file holds an embedding's LoRA (lora_embedding_A/B) for it. Load the adapter onto the model it was trained on.");
        long[] weight = PeftAttention.WeightShape(attention, projection)
                        ?? throw new AdapterFileException(weightsPath, keyA, $"'{node.Path}' is a MultiheadAttention with kdim or vdim unlike its embed_dim (separate q, k and v weights), which PEFT's " +
                                                                             "lora.MultiheadAttention refuses too. Load the adapter onto the model it was trained on.");
        var spec = LowRankSpec(config, weightsPath, configPath, peftPath, attentionPath, nameof(MultiheadAttentionProjection), weight, tensors);
        double applications = PeftAttention.ApplicationsOf(projection);
        return spec with { Scale = spec.Scale * applications, LoraAlpha = spec.LoraAlpha * applications };
    }

    /// <summary>
    /// An Embedding target as PEFT's <c>lora.Embedding</c> saves it: <c>lora_embedding_A</c> <c>[r, num_embeddings]</c> and
    /// <c>lora_embedding_B</c> <c>[dim, r]</c>, and with DoRA <c>lora_magnitude_vector</c> <c>[dim]</c> (PEFT's DoraEmbeddingLayer).
    /// </summary>
    private static AdapterSpec PlanEmbedding(PeftAdapterConfig config, string weightsPath, string configPath, string peftPath, ModuleTree.Node node, TargetTensors tensors)
    {
        string keyA = PeftKeys.Of(peftPath, PeftKeys.LoraEmbeddingA);
        if (node.Module is not Embedding embedding)
            throw new AdapterFileException(weightsPath, keyA, $"'{node.Path}' is a {node.Module.GetType().Name}, but the file holds an embedding's LoRA (lora_embedding_A/B) for it. Load the adapter onto the model it was trained on.");
        if (!tensors.EmbeddingKeys || tensors.A is null || tensors.B is null)
            throw new AdapterFileException(weightsPath, PeftKeys.Of(peftPath, PeftKeys.LoraA), $"'{node.Path}' is an Embedding: PEFT saves its LoRA as lora_embedding_A and lora_embedding_B, not lora_A.weight/lora_B.weight. The file does not match the model; load it onto the model it was trained on.");
        long[] weight = embedding.weight!.shape;
        var (rank, rankField) = PeftMatching.RankSource(config, peftPath);
        string layout = $" (lora_embedding_A is [r, num_embeddings], lora_embedding_B [dim, r], with r = {rank} by {rankField})";
        CheckTensor(weightsPath, keyA, tensors.A, new[] { (long)rank, weight[0] }, layout);
        CheckTensor(weightsPath, PeftKeys.Of(peftPath, PeftKeys.LoraEmbeddingB), tensors.B, new[] { weight[1], (long)rank }, layout);
        if (tensors.Magnitude is Tensor m)
            CheckTensor(weightsPath, PeftKeys.Of(peftPath, PeftKeys.Magnitude), m, new[] { weight[1] }, " (an embedding's DoRA magnitude is [dim])");
        double alpha = PeftMatching.AlphaFor(config, peftPath);
        double scale = config.UseRsLora ? alpha / Math.Sqrt(rank) : alpha / rank;
        return new AdapterSpec(embedding.GetType().Name, weight, new[] { rank }, scale) { LoraAlpha = alpha, UseRsLora = config.UseRsLora };
    }

    /// <summary>Refuses embedding bags, embeddings under AdaLoRA, and layers no adapter of Flora's wraps.</summary>
    private static void CheckAdaptable(string weightsPath, string key, ModuleTree.Node node, string method)
    {
        nn.Module module = node.Module;
        if (module is EmbeddingBag || (module is Embedding && method == "AdaLoRA"))
            throw new AdapterFileException(weightsPath, key, $"'{node.Path}' is an {module.GetType().Name}: Flora's {method} does not adapt it (PEFT's AdaLoRA has no embedding layer). Train without targeting it.");
        if (module is not nn.Module<Tensor, Tensor> || !AdapterDispatch.IsSupported(module))
            throw new AdapterFileException(weightsPath, key, $"'{node.Path}' is a {module.GetType().Name}, which Flora's {method} does not adapt (supported: {AdapterDispatch.SupportedTypes}). Load the adapter onto the model it was trained on.");
    }

    /// <summary>
    /// Checks an AdaLoRA target's layer and tensors and returns the spec of the adapter that computes PEFT's function:
    /// PEFT's SVD layers are a Linear (<c>SVDLinear</c>) or a Conv2d with groups = 1 (<c>SVDConv2d</c>, which convolves
    /// ΔW with the base layer's stride, padding and dilation, and pads with zeros); every target has <c>init_r</c> triplets
    /// and <c>ranknum = init_r</c>, resized to the kept ones where <c>rank_pattern</c> says (PEFT saves only those), with
    /// the scale <c>lora_alpha/(init_r + 1e-5)</c> (<c>lora_alpha</c> ≤ 0: the layer's rank, as PEFT's <c>update_layer</c>).
    /// The adapter keeps all <c>init_r</c> triplets, the dropped ones at zero and masked (<see cref="LoadAdaLora"/>).
    /// </summary>
    private static AdapterSpec PlanAdaLora(PeftAdapterConfig config, string weightsPath, string peftPath, ModuleTree.Node node, TargetTensors tensors)
    {
        var adaLora = config.AdaLora!;
        string keyA = PeftKeys.Of(peftPath, PeftKeys.AdaLoraA);
        nn.Module module = node.Module;
        CheckAdaptable(weightsPath, keyA, node, "AdaLoRA");
        long[] weight = AdapterDispatch.WeightOf(node.Path, (nn.Module<Tensor, Tensor>)module).shape;
        if (module is Conv2d conv)
        {
            if (conv.groups != 1)
                throw new AdapterFileException(weightsPath, keyA, $"'{node.Path}' is a grouped convolution (groups {conv.groups}). PEFT's SVDConv2d spans all input channels and cannot reshape its update to a grouped weight, so no PEFT AdaLoRA adapter fits it. Train without targeting grouped convolutions.");
            if (conv.padding_mode != PaddingModes.Zeros)
                throw new AdapterFileException(weightsPath, keyA, $"'{node.Path}' pads with {conv.padding_mode}, but PEFT's SVDConv2d convolves its update with zero padding, so its update is not the low-rank update of this layer. Train without targeting it.");
        }
        else if (module is Convolution || weight.Length != 2)
        {
            throw new AdapterFileException(weightsPath, keyA, $"'{node.Path}' is a {module.GetType().Name}: PEFT's AdaLoRA has SVD layers for Linear and Conv2d only (SVDLinear, SVDConv2d). " +
                                                              "Load the adapter onto the model it was trained on.");
        }
        bool[]? kept = adaLora.KeptOf(peftPath);
        long rows = kept?.Count(k => k) ?? adaLora.InitR;
        long columns = weight.Skip(1).Aggregate(1L, (a, b) => a * b);
        string layout = $" (lora_A is [r, {(weight.Length == 2 ? "in" : "in·kh·kw")}], lora_B [out, r], lora_E [r, 1], with r = {rows}: " +
                        (kept is null ? "init_r" : $"the triplets rank_pattern keeps") + ")";
        CheckTensor(weightsPath, keyA, tensors.A!, new[] { rows, columns }, layout);
        CheckTensor(weightsPath, PeftKeys.Of(peftPath, PeftKeys.AdaLoraB), tensors.B!, new[] { weight[0], rows }, layout);
        CheckTensor(weightsPath, PeftKeys.Of(peftPath, PeftKeys.AdaLoraE), tensors.E!, new[] { rows, 1L }, layout);
        double alpha = config.LoraAlpha > 0 ? config.LoraAlpha : kept is not null && rows > 0 ? rows : adaLora.InitR;
        int initR = adaLora.InitR;
        return new AdapterSpec(module.GetType().Name, weight, new[] { initR, initR }, alpha / (initR + 1e-5)) { LoraAlpha = alpha, TargetRank = adaLora.TargetR };
    }

    /// <summary>A saved module's file tensors must be exactly its own parameters and buffers, with their shapes.</summary>
    private static void CheckSavedModule(string weightsPath, string peftPath, nn.Module module, Dictionary<string, Tensor> tensors)
    {
        if (module is IFloraAdapter)
            throw new AdapterFileException(weightsPath, PeftKeys.Of(peftPath, tensors.Keys.First()), $"'{peftPath}' already has an adapter attached. Detach it first.");
        var own = module.named_parameters().Select(p => (p.name, (Tensor)p.parameter)).Concat(module.named_buffers().Select(b => (b.name, b.buffer)))
            .ToDictionary(t => t.Item1, t => t.Item2, StringComparer.Ordinal);
        var missing = own.Keys.FirstOrDefault(k => !tensors.ContainsKey(k));
        if (missing is not null)
            throw new AdapterFileException(weightsPath, PeftKeys.Of(peftPath, missing), $"the tensor is missing: modules_to_save saves '{peftPath}' whole, and the model's {module.GetType().Name} has '{missing}'. Load onto a model built the same way, or save the directory again.");
        var extra = tensors.Keys.FirstOrDefault(k => !own.ContainsKey(k));
        if (extra is not null)
            throw new AdapterFileException(weightsPath, PeftKeys.Of(peftPath, extra), $"the model's {module.GetType().Name} at '{peftPath}' has no tensor '{extra}' (it has {string.Join(", ", own.Keys)}). Load onto the model the adapter was trained on.");
        foreach (var (name, tensor) in tensors)
        {
            Tensor target = own[name];
            string key = PeftKeys.Of(peftPath, name);
            if (!torch.is_floating_point(target))
            {
                if (!tensor.shape.SequenceEqual(target.shape) || tensor.dtype != target.dtype)
                    throw new AdapterFileException(weightsPath, key, $"it is {tensor.dtype} [{string.Join(", ", tensor.shape)}] but the module's buffer is {target.dtype} [{string.Join(", ", target.shape)}]. Load onto a matching model.");
                continue;
            }
            CheckTensor(weightsPath, key, tensor, target.shape);
        }
    }

    /// <summary>Shape (<paramref name="layout"/> says where it comes from), floating dtype and finite values.</summary>
    private static void CheckTensor(string weightsPath, string key, Tensor tensor, long[] shape, string layout = "")
    {
        if (!tensor.shape.SequenceEqual(shape))
            throw new AdapterFileException(weightsPath, key, $"its shape is [{string.Join(", ", tensor.shape)}] but the model needs [{string.Join(", ", shape)}]{layout}. Load the adapter onto the model it was trained on.");
        AdapterFileException.ThrowUnlessFiniteFloatingPoint(weightsPath, key, tensor, "Save the adapter again.");
    }

    /// <summary>
    /// With the model's names equal to PEFT's: every module PEFT's rules select as a target must be a layer LoRA adapts and
    /// have its tensors in the file, and every module <c>modules_to_save</c> selects (outermost) must be saved in it.
    /// </summary>
    private static void CheckEverySelectedModuleIsInTheFile(PeftAdapterConfig config, string configPath, List<ModuleTree.Node> nodes, HashSet<string> inFile, HashSet<string> savedInFile)
    {
        foreach (var node in nodes)
        {
            if (!PeftMatching.IsTarget(config, node.Path)) continue;
            if (node.Module is MultiheadAttention && config.AdaLora is null)
            {
                foreach (var path in new[] { node.Path, PeftAttention.OutProjectionPath(node.Path) })
                    if (!inFile.Contains(path))
                        throw new AdapterFileException(configPath, "target_modules", $"it selects the MultiheadAttention '{node.Path}', but {PeftKeys.WeightsFileName} holds no LoRA for '{path}' (PEFT adapts both of its projections). The adapter was trained on another model, or the file is incomplete.");
                continue;
            }
            if (node.Module is not nn.Module<Tensor, Tensor> || !AdapterDispatch.IsSupported(node.Module))
                throw new AdapterFileException(configPath, "target_modules", $"it selects '{node.Path}', a {node.Module.GetType().Name}, which LoRA does not adapt (PEFT would refuse it too). The adapter was trained on another model.");
            if (!inFile.Contains(node.Path))
                throw new AdapterFileException(configPath, "target_modules", $"it selects '{node.Path}', but {PeftKeys.WeightsFileName} holds no adapter for it. The adapter was trained on another model, or the file is incomplete.");
        }
        foreach (var node in nodes)
        {
            if (!config.ModulesToSave.Any(m => PeftMatching.SavesModule(m, node.Path))) continue;
            if (nodes.Any(outer => ModuleTree.IsBelow(node.Path, outer.Path) && config.ModulesToSave.Any(m => PeftMatching.SavesModule(m, outer.Path)))) continue;
            if (!savedInFile.Contains(node.Path))
                throw new AdapterFileException(configPath, "modules_to_save", $"it selects '{node.Path}', but {PeftKeys.WeightsFileName} holds none of its tensors. The adapter was trained on another model, or the file is incomplete.");
        }
    }

    /// <summary>
    /// Copies an AdaLoRA target's tensors into its adapter: as they are, or — resized by <c>rank_pattern</c> — the file's
    /// rows (and P's columns) into the kept triplets in order, the dropped ones zero and masked, so that the adapter
    /// computes exactly what PEFT's resized layer does.
    /// </summary>
    private static void LoadAdaLora(AdaLoraLayer adapter, TargetTensors tensors, bool[]? kept)
    {
        Tensor a = tensors.A!, b = tensors.B!, e = tensors.E!;
        if (kept is null)
        {
            adapter.LoraA.copy_(a);
            adapter.LoraB.copy_(b);
            adapter.LoraE.copy_(e);
            return;
        }
        adapter.LoraA.zero_();
        adapter.LoraB.zero_();
        adapter.LoraE.zero_();
        long[] rows = Enumerable.Range(0, kept.Length).Where(i => kept[i]).Select(i => (long)i).ToArray();
        if (rows.Length > 0)
        {
            using var index = torch.tensor(rows, device: adapter.LoraA.device);
            using var q = a.to(adapter.LoraA.dtype, adapter.LoraA.device);
            using var p = b.to(adapter.LoraB.dtype, adapter.LoraB.device);
            using var lambda = e.to(adapter.LoraE.dtype, adapter.LoraE.device);
            adapter.LoraA.index_copy_(0, index, q);
            adapter.LoraB.index_copy_(1, index, p);
            adapter.LoraE.index_copy_(0, index, lambda);
        }
        adapter.SetRankPattern(kept);
    }

    /// <summary>
    /// Copies the file's tensors into one named adapter's layers and its copy of the modules to save. The targets were
    /// checked already; the modules to save must be the attachment's (the same paths), else nothing is copied.
    /// </summary>
    private static void Load(AdapterContent attachment, DirectoryPlan plan)
    {
        var filePaths = plan.SavedModules.Select(m => m.Node.Path).OrderBy(p => p, StringComparer.Ordinal);
        var ownPaths = attachment.ModulesToSave.Select(m => m.Path).OrderBy(p => p, StringComparer.Ordinal);
        if (!filePaths.SequenceEqual(ownPaths))
            throw new AdapterFileException(plan.WeightsPath, null, $"it saves the modules [{string.Join(", ", filePaths)}] whole, but this attachment saves [{string.Join(", ", ownPaths)}]. " +
                                                                   "Load it into an attachment with the same modules_to_save, or attach it with FloraInjector.AttachFromPeft.");
        using var guard = no_grad();
        foreach (var target in plan.Targets)
        {
            var layer = attachment.Adapters.First(a => a.Name == target.Path);
            if (layer is AdaLoraLayer adaLora)
            {
                LoadAdaLora(adaLora, target.Tensors, target.Kept);
                continue;
            }
            var adapter = (LoraLayer)layer;
            adapter.LoraA.copy_(target.Tensors.A!);
            using (var b = target.Tensors.B!.reshape(adapter.LoraB.shape)) adapter.LoraB.copy_(b);
            if (adapter is DoraLayer dora)
            {
                using var m = target.Tensors.Magnitude!.reshape(dora.Magnitude.shape);
                dora.Magnitude.copy_(m);
            }
        }
        foreach (var saved in attachment.ModulesToSave)
        {
            var tensors = plan.SavedModules.First(m => m.Node.Path == saved.Path).Tensors;
            foreach (var (name, tensor) in saved.Tensors) tensor.copy_(tensors[name]);
        }
    }
}
