using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// Writes an attachment as the directory PEFT's <c>PeftModel.from_pretrained</c> loads onto the same PyTorch model:
/// <c>adapter_config.json</c> (peft_type LORA; <c>target_modules</c> one regular expression that fully matches exactly
/// the targets; <c>r</c>/<c>lora_alpha</c> the most common values, <c>rank_pattern</c>/<c>alpha_pattern</c> anchored
/// per target for the rest; <c>modules_to_save</c> the saved modules' paths) and <c>adapter_model.safetensors</c> (keys
/// as <see cref="PeftKeys"/> describes). LoRA and DoRA are written as they are; FLoRA as the exact LoRA it equals
/// (<see cref="FloraAsLora"/>: rank r_out, α = r_out); a MultiheadAttention's two adapters as PEFT's
/// <c>lora.MultiheadAttention</c> (<see cref="PeftAttention"/>, <see cref="AttentionPairs"/>). Refused, before anything is written: BitFit (PEFT's LoRA has no
/// bias-only adapter), Houlsby and Pfeiffer (bottleneck adapters are no LoRA), grouped, dilated or non-zero-padded convolutions (PEFT computes another update there), and names
/// PEFT's suffix rules would not select exactly. AdaLoRA is written as PEFT's AdaLoRA (peft_type ADALORA,
/// <see cref="AdaLoraDirectory"/>): the kept triplets and the <c>rank_pattern</c>, as PEFT saves them; Conv1d/Conv3d,
/// grouped or non-zero-padded convolutions and an unset <c>TotalSteps</c> are refused. The files go to a temporary
/// directory first and are then moved into place.
/// </summary>
internal static class PeftExporter
{
    /// <summary>
    /// One target as PEFT will see it: <paramref name="Path"/> the module <c>target_modules</c> selects (and rank and α
    /// patterns name), <c>KeyPath</c> the module its tensors' keys name (a MultiheadAttention's out projection:
    /// <c>{attn}.base_layer.out_proj</c>), <paramref name="Lora"/> the LoRA's own configuration when written as it is (its α exact).
    /// </summary>
    private sealed record Exported(string Path, int Rank, double Scale, Tensor A, Tensor B, Tensor? Magnitude, bool Embedding = false, LoraLayerConfig? Lora = null)
    {
        public string KeyPath { get; init; } = Path;

        /// <summary>A MultiheadAttention's projection (<see cref="PeftAttention.InProjection"/> or <see cref="PeftAttention.OutProjection"/>), or null.</summary>
        public string? Projection { get; init; }
    }

    /// <summary>
    /// Writes named adapters of the attachment on <paramref name="model"/>, each to its directory (PEFT's multi-adapter
    /// layout: the default at the root, the others in sub-directories). Every adapter is checked and converted before the
    /// first file is written, so a refused one leaves the directories as they were.
    /// </summary>
    public static void Save(nn.Module model, IReadOnlyList<(AdapterContent Adapter, string Directory)> adapters, PeftExportOptions? options)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var scope = NewDisposeScope();
        var prepared = adapters.Select(a => (a.Directory, Files: Prepare(model, a.Adapter, a.Directory, options))).ToList();
        foreach (var (directory, (config, tensors)) in prepared)
            WriteDirectory(directory, config, tensors);
    }

    /// <summary>One adapter's <c>adapter_config.json</c> text and tensors, after every check (inside the caller's dispose scope).</summary>
    private static (string Config, Dictionary<string, Tensor> Tensors) Prepare(nn.Module model, AdapterContent attachment, string directory, PeftExportOptions? options)
    {
        ArgumentNullException.ThrowIfNull(attachment);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (attachment.IsMerged)
            throw new InvalidOperationException($"Cannot export '{directory}' while the adapters are merged: the base weights hold ΔW. Call Unmerge() first, export, then merge again.");
        Func<string, string> map = options?.MapPath ?? (p => p);
        if (attachment.Method == FloraMethod.BitFit)
            throw new InvalidOperationException("BitFit adapters cannot be exported to PEFT: PEFT's LoRA has no bias-only adapter (its bias=\"all\" also trains every other bias " +
                                                "and still needs LoRA targets). Keep BitFit in Flora's own adapter file (Save).");
        if (attachment.Method is FloraMethod.Houlsby or FloraMethod.Pfeiffer)
            throw new InvalidOperationException($"{attachment.Method} adapters cannot be exported to PEFT: a PEFT LoRA directory holds low-rank weight updates, and a bottleneck adapter " +
                                                "(up(act(down(h))) after the layer) is none, nor can it be merged into one. PEFT itself has no bottleneck adapters (AdapterHub's are another " +
                                                $"format). Keep {attachment.Method} in Flora's own adapter file (Save).");
        if (attachment.Adapters.Count == 0)
            throw new InvalidOperationException("Nothing to export: the attachment has no adapters, and a PEFT LoRA directory needs at least one target. Save modules alone with Save().");

        var (config, tensors) = attachment.Method == FloraMethod.AdaLora ? AdaLoraDirectory(attachment, map) : LoraDirectory(attachment, map);
        var saved = attachment.ModulesToSave.Select(m => (Path: map(m.Path), Module: m)).ToList();
        config = config with { ModulesToSave = saved.Select(s => s.Path).ToArray() };
        CheckPeftSelectsExactly(model, attachment, config, map);
        foreach (var (path, module) in saved)
            foreach (var (name, tensor) in module.Tensors)
                tensors[PeftKeys.Of(path, name)] = tensor.detach();
        return (config.ToJson(), tensors);
    }

    /// <summary>
    /// A LoRA directory's configuration and adapter tensors: <c>r</c> and <c>lora_alpha</c> the most common values,
    /// anchored <c>rank_pattern</c>/<c>alpha_pattern</c> entries for the rest.
    /// </summary>
    private static (PeftAdapterConfig Config, Dictionary<string, Tensor> Tensors) LoraDirectory(AdapterContent attachment, Func<string, string> map)
    {
        bool rsLora = attachment.Adapters.FirstOrDefault() is LoraLayer first && first.Config.UseRsLora;
        var exported = AttentionPairs(attachment.Adapters.Select(a => Export(a, map)).ToList());
        int r = MostCommon(exported.Select(e => e.Rank));
        // A LoRA target's own α where its rsLoRA setting is the file's: exact, no rounding through the scale.
        var alphas = exported.DistinctBy(e => e.Path)
            .Select(e => (e.Path, Alpha: e.Lora is { } lora && lora.UseRsLora == rsLora ? lora.EffectiveAlpha : e.Scale * (rsLora ? Math.Sqrt(e.Rank) : e.Rank))).ToList();
        double alpha = MostCommon(alphas.Select(a => a.Alpha));

        var config = new PeftAdapterConfig
        {
            R = r,
            LoraAlpha = alpha,
            UseRsLora = rsLora,
            UseDora = attachment.Method == FloraMethod.Dora,
            TargetModuleRegex = PeftMatching.ExactAlternation(exported.Select(e => e.Path).Distinct()),
            RankPattern = exported.DistinctBy(e => e.Path).Where(e => e.Rank != r).Select(e => KeyValuePair.Create(PeftMatching.ExactPatternKey(e.Path), e.Rank)).ToArray(),
            AlphaPattern = alphas.Where(a => a.Alpha != alpha).Select(a => KeyValuePair.Create(PeftMatching.ExactPatternKey(a.Path), a.Alpha)).ToArray(),
        };
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var e in exported)
        {
            tensors[PeftKeys.Of(e.KeyPath, e.Embedding ? PeftKeys.LoraEmbeddingA : PeftKeys.LoraA)] = e.A;
            tensors[PeftKeys.Of(e.KeyPath, e.Embedding ? PeftKeys.LoraEmbeddingB : PeftKeys.LoraB)] = e.B;
            if (e.Magnitude is not null) tensors[PeftKeys.Of(e.KeyPath, PeftKeys.Magnitude)] = e.Magnitude;
        }
        return (config, tensors);
    }

    /// <summary>
    /// PEFT's <c>lora.MultiheadAttention</c> adapts both projections of an attention layer with one rank and α, and
    /// applies the out projection's update <see cref="PeftAttention.OutProjectionApplications"/> times
    /// (<see cref="PeftAttention"/>): both of Flora's adapters of one attention are written at the larger rank and the
    /// scale s of the adapter that has it, each one's A times its own scale over what PEFT applies (<c>s</c>, or
    /// <c>2·s</c> for out_proj; <see cref="PeftAttention.AtRank"/>); a projection without an adapter is written as a zero
    /// LoRA, since PEFT always has both. Other targets pass through.
    /// </summary>
    private static List<Exported> AttentionPairs(List<Exported> exported)
    {
        var result = new List<Exported>(exported.Count + 1);
        foreach (var group in exported.GroupBy(e => e.Path))
        {
            var inProjection = group.FirstOrDefault(e => e.Projection == PeftAttention.InProjection);
            var outProjection = group.FirstOrDefault(e => e.Projection == PeftAttention.OutProjection);
            if (inProjection is null && outProjection is null)
            {
                result.AddRange(group);
                continue;
            }
            var lead = new[] { inProjection, outProjection }.OfType<Exported>().MaxBy(e => e.Rank)!;
            long embed = lead.A.shape[1];
            result.Add(AtRankOf(lead, inProjection, PeftAttention.InProjection, 3 * embed));
            result.Add(AtRankOf(lead, outProjection, PeftAttention.OutProjection, embed));
        }
        return result;
    }

    /// <summary>One projection's LoRA as PEFT applies it at the rank and scale of <paramref name="lead"/>; a zero LoRA of <paramref name="rows"/> outputs where it has none.</summary>
    private static Exported AtRankOf(Exported lead, Exported? projection, string name, long rows)
    {
        if (projection is null)
            return lead with
            {
                Projection = name,
                KeyPath = name == PeftAttention.InProjection ? lead.Path : PeftAttention.OutProjectionPath(lead.Path),
                A = zeros(lead.Rank, lead.A.shape[1], lead.A.dtype, lead.A.device),
                B = zeros(rows, lead.Rank, lead.B.dtype, lead.B.device),
            };
        var (a, b) = PeftAttention.AtRank(projection.A, projection.B, projection.Scale / (lead.Scale * PeftAttention.ApplicationsOf(name)), lead.Rank);
        return projection with { Rank = lead.Rank, Scale = lead.Scale, A = a, B = b, Lora = lead.Lora };
    }

    /// <summary>
    /// An AdaLoRA directory as PEFT's <c>save_pretrained</c> writes one (peft_type ADALORA): <c>lora_A</c>, <c>lora_B</c>
    /// and <c>lora_E</c> per target, and — once an allocation masked triplets — only the kept ones, with a
    /// <c>rank_pattern</c> (<c>{path}.lora_E</c> → which of <c>init_r</c> triplets are kept) that PEFT's
    /// <c>from_pretrained</c> resizes its fresh layers by (AdaLoRA's <c>_get_adapter_state_dict</c> and
    /// <c>resize_modules_by_rank_pattern</c>). PEFT has one <c>init_r</c> and one <c>lora_alpha</c> for every layer, its
    /// scale <c>lora_alpha/(init_r + 1e-5)</c>: <c>init_r</c> is the largest initial rank; a target with fewer triplets
    /// keeps its own in the first positions of its pattern, and a target whose scale differs from PEFT's has the ratio
    /// folded into its singular values (Λ), so that every layer computes the same update. The allocation's settings are
    /// written as they are; <c>target_r</c> is the mean target rank, rounded.
    /// </summary>
    private static (PeftAdapterConfig Config, Dictionary<string, Tensor> Tensors) AdaLoraDirectory(AdapterContent attachment, Func<string, string> map)
    {
        var adapters = attachment.Adapters.Cast<AdaLoraLayer>().ToList();
        foreach (var adapter in adapters) CheckAdaLoraLayer(adapter);
        var options = attachment.AdaLora!;
        if (options.TotalSteps is null)
            throw new InvalidOperationException("PEFT's AdaLoraConfig refuses a configuration without total_step, and this attachment's AdaLoraOptions.TotalSteps is unset. " +
                                                "Attach with FloraModelOptions.AdaLora.TotalSteps set to the training's number of optimizer steps, then export.");
        int initR = adapters.Max(a => a.Config.Rank);
        double alpha = MostCommon(adapters.Where(a => a.Config.Rank == initR).Select(a => a.Config.EffectiveAlpha));
        double scale = alpha / (initR + 1e-5);
        bool resize = adapters.Any(a => a.ActiveRank < a.Config.Rank || a.Config.Rank < initR);

        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var patterns = new List<PeftRankPattern>();
        foreach (var adapter in adapters)
        {
            string path = map(adapter.Name);
            Tensor q = adapter.LoraA.detach(), p = adapter.LoraB.detach(), lambda = adapter.LoraE.detach();
            if (resize)
            {
                long[] kept = Enumerable.Range(0, adapter.Config.Rank).Where(i => adapter.RankPattern[i]).Select(i => (long)i).ToArray();
                bool[] pattern = adapter.Config.Rank == initR
                    ? adapter.RankPattern.ToArray()
                    : Enumerable.Range(0, initR).Select(i => i < kept.Length).ToArray();
                patterns.Add(new PeftRankPattern(path + "." + PeftKeys.AdaLoraE, path, pattern));
                if (kept.Length < adapter.Config.Rank)
                {
                    var index = tensor(kept, device: q.device);
                    (q, p, lambda) = (q.index_select(0, index), p.index_select(1, index), lambda.index_select(0, index));
                }
            }
            double ratio = adapter.Config.Scale / scale;
            if (ratio != 1) lambda = lambda.Times(ratio);
            tensors[PeftKeys.Of(path, PeftKeys.AdaLoraA)] = q;
            tensors[PeftKeys.Of(path, PeftKeys.AdaLoraB)] = p;
            tensors[PeftKeys.Of(path, PeftKeys.AdaLoraE)] = lambda;
        }
        int targetR = Math.Clamp((int)Math.Round(adapters.Average(a => a.Config.TargetRank), MidpointRounding.AwayFromZero), 1, initR);
        var config = new PeftAdapterConfig
        {
            R = 8, // PEFT's default, which AdaLoRA ignores (and warns about when it differs)
            LoraAlpha = alpha,
            TargetModuleRegex = PeftMatching.ExactAlternation(adapters.Select(a => map(a.Name))),
            AdaLora = new PeftAdaLoraConfig(options with { InitRank = initR, TargetRank = targetR }, resize ? patterns : null),
        };
        return (config, tensors);
    }

    /// <summary>PEFT's AdaLoRA adapts a Linear (SVDLinear) or a Conv2d with groups = 1 padding with zeros (SVDConv2d); anything else is refused.</summary>
    private static void CheckAdaLoraLayer(AdaLoraLayer adapter)
    {
        nn.Module layer = adapter.BaseLayer;
        if (layer is Conv2d conv)
        {
            if (conv.groups != 1)
                throw new InvalidOperationException($"'{adapter.Name}' is a grouped convolution (groups {conv.groups}), which PEFT's AdaLoRA cannot express: its SVDConv2d spans all input channels and cannot " +
                                                    "reshape its update to a grouped weight. Leave grouped and depthwise convolutions out of the targets to export, or keep the adapter in Flora's own file (Save).");
            if (conv.padding_mode != TorchSharp.PaddingModes.Zeros)
                throw new InvalidOperationException($"'{adapter.Name}' pads with {conv.padding_mode}; PEFT's SVDConv2d convolves its update with zero padding and would compute another model. Leave it out of the targets to export.");
            return;
        }
        if (layer is Convolution || adapter.Spec.WeightShape.Length != 2)
            throw new InvalidOperationException($"'{adapter.Name}' is a {layer.GetType().Name}: PEFT's AdaLoRA has SVD layers for Linear and Conv2d only (SVDLinear, SVDConv2d). " +
                                                "Leave it out of the targets to export, or keep the adapter in Flora's own file (Save).");
    }

    /// <summary>
    /// A target as PEFT will see it (PEFT path by <paramref name="map"/>): an Embedding's LoRA as <c>lora_embedding_A/B</c>,
    /// a MultiheadAttention's projection as <see cref="PeftAttention"/> names it, any other as <see cref="ExportLinearView"/>.
    /// </summary>
    private static Exported Export(IFloraAdapter adapter, Func<string, string> map)
    {
        nn.Module layer = adapter.BaseLayer;
        if (PeftAttention.ProjectionOf(adapter) is { } projection)
        {
            // PEFT's lora.MultiheadAttention: in_proj_weight's LoRA on the attention layer itself, out_proj's on its base_layer.out_proj.
            string target = map(projection.Attention);
            return ExportLinearView(adapter, target) with
            {
                Projection = projection.Projection,
                KeyPath = projection.Projection == PeftAttention.InProjection ? target : PeftAttention.OutProjectionPath(target),
            };
        }
        string path = map(adapter.Name);
        if (layer is Convolution conv)
        {
            if (conv.transposed)
                throw new InvalidOperationException($"'{adapter.Name}' is a {layer.GetType().Name}, a transposed convolution: PEFT has no LoRA layer for transposed convolutions, so its adapter has no PEFT form. " +
                                                    "Leave it out of the targets to export, or keep the adapter in Flora's own file (Save).");
            if (conv.groups != 1)
                throw new InvalidOperationException($"'{adapter.Name}' is a grouped convolution (groups {conv.groups}), which PEFT's LoRA cannot express: PEFT's lora_A spans all input channels while lora_B is grouped, " +
                                                    "so neither Flora's grouped LoRA nor FLoRA's grouped update has a PEFT form. Leave grouped and depthwise convolutions out of the targets to export.");
            if (conv.dilation.Any(d => d != 1))
                throw new InvalidOperationException($"'{adapter.Name}' is a dilated convolution (dilation ({string.Join(", ", conv.dilation)})); PEFT's conv LoRA ignores dilation (huggingface/peft#3697) and would compute another model. Leave it out of the targets to export.");
            if (conv.padding_mode != TorchSharp.PaddingModes.Zeros)
                throw new InvalidOperationException($"'{adapter.Name}' pads with {conv.padding_mode}; PEFT's lora_A pads with zeros and would compute another model. Leave it out of the targets to export.");
        }
        if (layer is Embedding)
        {
            // PEFT's lora.Embedding: lora_embedding_A [r, num], lora_embedding_B [dim, r], as Flora's LoRA holds them; DoRA's magnitude [dim].
            switch (adapter)
            {
                case DoraLayer dora:
                    return new Exported(path, dora.Config.Rank, dora.Config.Scale, dora.LoraA.detach(), dora.LoraB.detach(), dora.Magnitude.detach(), Embedding: true, dora.Config);
                case LoraLayer lora:
                    return new Exported(path, lora.Config.Rank, lora.Config.Scale, lora.LoraA.detach(), lora.LoraB.detach(), null, Embedding: true, lora.Config);
                case FloraLayer flora:
                {
                    var (a, b) = FloraAsLora.Factors(flora);
                    return new Exported(path, (int)b.shape[1], 1.0, a, b, null, Embedding: true);
                }
                default:
                    throw new InvalidOperationException($"'{adapter.Name}' is an Embedding with a {adapter.Method} adapter, which PEFT's LoRA cannot express.");
            }
        }
        return ExportLinearView(adapter, path);
    }

    /// <summary>A Linear's or convolution's LoRA as PEFT lays it out: B (and DoRA's magnitude) with the conv's trailing unit axes.</summary>
    private static Exported ExportLinearView(IFloraAdapter adapter, string path)
    {
        Tensor weight = AdapterDispatch.WeightOf(adapter.Name, adapter.BaseLayer);
        long[] unitAxes = Enumerable.Repeat(1L, (int)weight.dim() - 2).ToArray();
        long[] BShape(long rank) => new[] { weight.shape[0], rank }.Concat(unitAxes).ToArray();
        switch (adapter)
        {
            case DoraLayer dora:
            {
                Tensor magnitude = unitAxes.Length == 0 ? dora.Magnitude.detach() : dora.Magnitude.detach().reshape(new[] { 1L, weight.shape[0] }.Concat(unitAxes).ToArray());
                return new Exported(path, dora.Config.Rank, dora.Config.Scale, dora.LoraA.detach(), dora.LoraB.detach().reshape(BShape(dora.Config.Rank)), magnitude, Lora: dora.Config);
            }
            case LoraLayer lora:
                return new Exported(path, lora.Config.Rank, lora.Config.Scale, lora.LoraA.detach(), lora.LoraB.detach().reshape(BShape(lora.Config.Rank)), null, Lora: lora.Config);
            case FloraLayer flora:
            {
                var (a, b) = FloraAsLora.Factors(flora);
                return new Exported(path, (int)b.shape[1], 1.0, a, b.reshape(BShape(b.shape[1])), null);
            }
            default:
                throw new InvalidOperationException($"'{adapter.Name}' has a {adapter.Method} adapter, which PEFT's LoRA cannot express.");
        }
    }

    /// <summary>
    /// PEFT selects modules to save by string suffix and drops targets inside a module to save: the written names must
    /// select exactly this attachment's modules and targets in the model (compared under <paramref name="map"/>).
    /// </summary>
    private static void CheckPeftSelectsExactly(nn.Module model, AdapterContent attachment, PeftAdapterConfig config, Func<string, string> map)
    {
        var names = ModuleTree.Walk(model).Select(n => map(n.Path)).ToList();
        var saved = config.ModulesToSave.ToHashSet(StringComparer.Ordinal);
        foreach (var name in names)
        {
            string? entry = config.ModulesToSave.FirstOrDefault(m => PeftMatching.SavesModule(m, name));
            if (entry is null || saved.Contains(name) || saved.Any(s => ModuleTree.IsBelow(name, s))) continue;
            throw new InvalidOperationException($"modules_to_save entry '{entry}' would also make PEFT save '{name}' (PEFT matches modules_to_save as a name suffix), which this attachment does not save. " +
                                                "Save that module too, or export with PeftExportOptions.MapPath giving the modules unambiguous names.");
        }
        foreach (var adapter in attachment.Adapters)
        {
            string path = map(PeftAttention.TargetName(adapter));
            string? entry = config.ModulesToSave.FirstOrDefault(m => PeftMatching.IsInsideModuleToSave(m, path));
            if (entry is not null)
                throw new InvalidOperationException($"PEFT would not adapt '{path}': its modules_to_save entry '{entry}' excludes targets whose name contains it as a dotted component. " +
                                                    "Rename the module with PeftExportOptions.MapPath, or do not save that module whole.");
            if (!PeftMatching.IsTarget(config, path))
                throw new InvalidOperationException($"PEFT's target_modules would not select '{path}'. This is a bug in Flora's export; please report it.");
        }
    }

    private static T MostCommon<T>(IEnumerable<T> values) where T : notnull =>
        values.GroupBy(v => v).OrderByDescending(g => g.Count()).First().Key;

    /// <summary>Writes both files into <paramref name="directory"/> together (<see cref="AtomicFile.WriteDirectory"/>).</summary>
    private static void WriteDirectory(string directory, string configJson, IReadOnlyDictionary<string, Tensor> tensors) =>
        AtomicFile.WriteDirectory(directory, folder =>
        {
            Safetensors.Save(Path.Combine(folder, PeftKeys.WeightsFileName), tensors, new Dictionary<string, string> { ["format"] = "pt" });
            File.WriteAllText(Path.Combine(folder, PeftAdapterConfig.FileName), configJson);
        });
}
