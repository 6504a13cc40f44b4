using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Text.RegularExpressions;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>The runtime entry point: attaches FLoRA adapters to the layers of any model selected by name.</summary>
public static class FloraInjector
{
    /// <summary>
    /// Finds the targets and modules to save <paramref name="config"/> selects, then attaches adapters of
    /// <paramref name="method"/> to the targets and makes the modules to save train fully.
    /// </summary>
    public static FloraAttachment Attach(nn.Module model, FloraConfig config, FloraMethod method = FloraMethod.Flora)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(config);
        bool savesModules = config.ModulesToSave.Count > 0 || config.Defaults.SaveNormLayers;
        var targets = config.TargetModules.Count == 0 && savesModules ? Array.Empty<FloraTarget>() : FindTargets(model, config);
        return FloraAttachment.Attach(model, targets, ModulesToSaveSelection.FindByPatterns(model, config.ModulesToSave), config.Defaults, method);
    }

    /// <summary>
    /// Attaches to <paramref name="model"/> exactly the adapters and modules to save an adapter file holds (its method,
    /// layers, ranks and scale, from the file's configuration) and loads their tensors: PEFT's <c>from_pretrained</c> for a
    /// base model built without knowing how the adapter was trained. Throws <see cref="AdapterFileException"/> when a layer
    /// or module is missing, leaving the model as it was.
    /// </summary>
    public static FloraAttachment AttachFromFile(nn.Module model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        AdapterFileConfig config = AdapterFile.ReadConfig(path);
        FloraMethod method = AdapterFile.MethodOf(config, path);
        var specs = config.Targets.ToDictionary(t => t.Name, t => t.ToSpec());
        var nodes = ModuleTree.Walk(model).ToList();
        var targets = nodes
            .Where(n => specs.ContainsKey(n.Path) && n.Module is nn.Module<Tensor, Tensor>)
            .Select(n => new FloraTarget(SlotOf(n, (nn.Module<Tensor, Tensor>)n.Module), FloraTargetOptions.Inherit))
            .Concat(nodes
                .Where(n => n.Module is MultiheadAttention && specs.Keys.Any(k => k.StartsWith(n.Path + ".", StringComparison.Ordinal)))
                .SelectMany(n => FloraMultiheadAttention.Wrap(n.Parent, n.Child, n.Path, (MultiheadAttention)n.Module).Targets(FloraTargetOptions.Inherit))
                .Where(t => specs.ContainsKey(t.Slot.Path)))
            .ToList();
        var missing = specs.Keys.FirstOrDefault(name => targets.All(t => t.Slot.Path != name));
        if (missing is not null)
            throw new AdapterFileException(path, missing, $"the model has no layer '{missing}'. Load the file into the model it was trained on.");
        var modulesToSave = new List<ModuleToSave>();
        foreach (var entry in config.ModulesToSave)
        {
            var node = nodes.FirstOrDefault(n => n.Path == entry.Name);
            if (node.Module is null)
                throw new AdapterFileException(path, entry.Name, $"the file saved the module '{entry.Name}' whole, but the model has no module there. Load the file into the model it was trained on.");
            modulesToSave.Add(new ModuleToSave(entry.Name, node.Module));
        }
        FloraAttachment attachment;
        try
        {
            attachment = FloraAttachment.Attach(model, targets, modulesToSave, saveNormLayers: false, method,
                target => AdapterDispatch.CreateFromSpec(method, target.Slot.Path, target.Slot.Layer, specs[target.Slot.Path]), config.AdaLora);
        }
        catch (ArgumentException e)
        {
            throw new AdapterFileException(path, null, e.Message);
        }
        try
        {
            attachment.Load(path);
        }
        catch
        {
            attachment.Detach();
            throw;
        }
        return attachment;
    }

    /// <summary>
    /// Attaches to <paramref name="model"/> the LoRA, DoRA or AdaLoRA adapter (and the modules to save) that a Hugging Face PEFT
    /// directory holds — <c>adapter_config.json</c> and <c>adapter_model.safetensors</c> as <c>save_pretrained</c> writes
    /// them — and loads its tensors, so that the model computes what PEFT's <c>PeftModel.from_pretrained</c> computes on
    /// the same PyTorch model, on Linear, Conv1d/2d/3d, Embedding (<c>lora_embedding_A/B</c>) and MultiheadAttention (PEFT's
    /// <c>lora.MultiheadAttention</c>) layers. Ranks and α follow PEFT's own rules (<c>r</c>, <c>lora_alpha</c>, <c>rank_pattern</c>,
    /// <c>alpha_pattern</c>, <c>use_rslora</c>). Everything is validated first: what PEFT would compute differently (another
    /// peft_type, trainable biases, <c>lora_bias</c>, DoRA on an attention layer, grouped or dilated convolutions, <c>layers_to_transform</c>,
    /// <c>target_parameters</c>, <c>fan_in_fan_out</c>, …) throws <see cref="AdapterFileException"/> naming the field or key,
    /// and the model stays bit-identical. An AdaLoRA directory (peft_type <c>ADALORA</c>, Linear and Conv2d targets) loads
    /// with its kept triplets (<c>rank_pattern</c>) and its allocation settings. PEFT's multi-adapter layout (several
    /// adapters saved together: the default at the root, each other adapter in a sub-directory of its name) loads whole:
    /// every sub-directory with an <c>adapter_config.json</c> becomes a named adapter of that name, inactive
    /// (<see cref="FloraAttachment.SetAdapter"/>).
    /// </summary>
    /// <param name="model">The base model (PEFT's module names, or mapped by <paramref name="options"/>).</param>
    /// <param name="directory">The directory <c>save_pretrained</c> wrote.</param>
    /// <param name="options">How PEFT's module paths map onto the model's; null when they are the same.</param>
    public static FloraAttachment AttachFromPeft(nn.Module model, string directory, PeftImportOptions? options = null) =>
        PeftImporter.Attach(model, directory, options);

    /// <summary>The targets <paramref name="config"/> selects in <paramref name="model"/>, in the model's order.</summary>
    internal static IReadOnlyList<FloraTarget> FindTargets(nn.Module model, FloraConfig config)
    {
        if (config.TargetModules.Count == 0)
            throw new ArgumentException("FloraConfig.TargetModules is empty: name the layers to adapt, e.g. [\"conv1\", \"blocks\\\\.\\\\d+\\\\.pw1\"] " +
                                        "(or give only ModulesToSave to train whole modules without adapters).");
        var targets = new List<FloraTarget>();
        var candidates = new List<string>();
        foreach (var node in ModuleTree.Walk(model))
        {
            var (_, _, name, module) = node;
            bool selected = config.TargetModules.Any(p => Matches(p, name)) && !config.ExcludeModules.Any(p => Matches(p, name));
            if (module is IFloraAdapter or FloraMultiheadAttention && selected)
                throw new InvalidOperationException($"'{name}' already has an adapter attached. Call Detach() on its attachment before attaching again.");
            if (module is MultiheadAttention attention && node.Parent is not FloraMultiheadAttention)
            {
                candidates.Add(name);
                if (selected) targets.AddRange(FloraMultiheadAttention.Wrap(node.Parent, node.Child, name, attention).Targets(OptionsFor(config, name)));
                continue;
            }
            if (module is not nn.Module<Tensor, Tensor> layer || !AdapterDispatch.IsSupported(layer)) continue;
            candidates.Add(name);
            if (!selected) continue;
            targets.Add(new FloraTarget(SlotOf(node, layer), OptionsFor(config, name)));
        }
        if (targets.Count == 0)
        {
            throw new ArgumentException($"No layer matches TargetModules [{string.Join(", ", config.TargetModules)}]. " +
                                        $"Layers FLoRA can adapt: {string.Join(", ", candidates.Take(20))}.");
        }
        return targets;
    }

    private static FloraTargetOptions OptionsFor(FloraConfig config, string name) =>
        config.Overrides.FirstOrDefault(o => Matches(o.Pattern, name)).Options ?? FloraTargetOptions.Inherit;

    /// <summary>
    /// PEFT's matching: a regular expression over the whole name, or the name or one of its dotted suffixes. A pattern
    /// that is not a valid regular expression, or that backtracks past the time limit, throws an
    /// <see cref="ArgumentException"/> naming it, the problem and the fix (<see cref="ModuleNamePatterns"/>, the rule
    /// PEFT's patterns follow too), rather than matching nothing.
    /// </summary>
    internal static bool Matches(string pattern, string name) =>
        ModuleNamePatterns.FullMatch(name, pattern) || name == pattern || name.EndsWith("." + pattern, StringComparison.Ordinal);

    /// <summary>The slot of the layer a walk of the model found at <paramref name="node"/>.</summary>
    internal static ModuleSlot SlotOf(ModuleTree.Node node, nn.Module<Tensor, Tensor> layer) =>
        new(node.Parent, node.Child, layer, StoreFor(node.Parent, node.Child, layer), node.Path);

    /// <summary>
    /// Whether a parent's fields that hold a target and can hold its adapter get the adapter (PEFT's <c>setattr</c>);
    /// false keeps every such layer hook-bound (for measuring what the hooks cost).
    /// </summary>
    internal static bool StoreInFields { get; set; } = true;

    /// <summary>
    /// Where the wrapper can be stored: containers whose own storage can hold it — <see cref="Sequential"/> (its private
    /// list; it ignores TorchSharp's registration table) and module lists of <c>Module&lt;Tensor, Tensor&gt;</c> — and a
    /// parent whose fields holding the layer are all typed to hold the wrapper too (TorchVision's models keep their layers
    /// in <c>readonly Module&lt;Tensor, Tensor&gt;</c> fields): the calls then reach the adapter directly, with no hooks.
    /// Other parents (a field typed <c>Conv2d</c>, TorchSharp's sealed layer type) keep the base layer in their member and
    /// route calls through hooks (<see cref="HookTransport"/>).
    /// </summary>
    private static Action<nn.Module<Tensor, Tensor>>? StoreFor(nn.Module parent, string child, nn.Module layer)
    {
        if (parent is Sequential sequential)
        {
            int index = sequential.named_children().Select(c => c.name).ToList().IndexOf(child);
            var field = typeof(Sequential).GetField("_modules", BindingFlags.Instance | BindingFlags.NonPublic)
                        ?? throw new InvalidOperationException("This TorchSharp version's Sequential has no '_modules' list; adapt layers inside a Sequential through a named parent module instead.");
            var list = (IList<nn.IModule<Tensor, Tensor>>)field.GetValue(sequential)!;
            return module => list[index] = module;
        }
        if (parent is IList<nn.Module<Tensor, Tensor>> moduleList && int.TryParse(child, out int position))
            return module => moduleList[position] = module;
        return StoreInFields ? FieldStore(parent, layer) : null;
    }

    /// <summary>
    /// Stores into every instance field of <paramref name="parent"/> that holds <paramref name="layer"/> (a field and an
    /// auto-property's backing field alike), when there is one and each can hold an adapter; else null.
    /// </summary>
    private static Action<nn.Module<Tensor, Tensor>>? FieldStore(nn.Module parent, nn.Module layer)
    {
        var fields = new List<FieldInfo>();
        for (Type? type = parent.GetType(); type is not null && type != typeof(nn.Module); type = type.BaseType)
        {
            foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                if (field.FieldType.IsValueType || !ReferenceEquals(field.GetValue(parent), layer)) continue;
                if (!field.FieldType.IsAssignableFrom(typeof(AdapterLayer))) return null;
                fields.Add(field);
            }
        }
        if (fields.Count == 0) return null;
        return module =>
        {
            foreach (var field in fields) field.SetValue(parent, module);
        };
    }
}
