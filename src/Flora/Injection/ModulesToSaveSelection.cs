using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// Which modules an attachment saves whole: those named (by pattern or by <c>[FloraModuleToSave]</c>), plus every
/// normalisation layer when asked, each checked against the targets. A module inside another module to save is covered
/// by it and not listed again.
/// </summary>
internal static class ModulesToSaveSelection
{
    /// <summary>The normalisation layer types <see cref="FloraModelOptions.SaveNormLayers"/> adds: <see cref="NormLayerNames"/>, the list the generator counts too.</summary>
    private static readonly Type[] NormLayerTypes = NormLayerNames.TypeNames
        .Select(name => typeof(BatchNorm1d).Assembly.GetType($"{NormLayerNames.TorchNamespace}.{name}", throwOnError: true)!).ToArray();

    /// <summary>Whether <paramref name="module"/> is a normalisation layer <see cref="FloraModelOptions.SaveNormLayers"/> saves.</summary>
    public static bool IsNormLayer(nn.Module module) => NormLayerTypes.Any(t => t.IsInstanceOfType(module));

    /// <summary>The modules <paramref name="patterns"/> select in <paramref name="model"/>, in the model's order; every pattern must match.</summary>
    public static IReadOnlyList<ModuleToSave> FindByPatterns(nn.Module model, IReadOnlyList<string> patterns)
    {
        var nodes = ModuleTree.Walk(model).ToList();
        foreach (var pattern in patterns)
        {
            if (!nodes.Any(n => FloraInjector.Matches(pattern, n.Path)))
                throw new ArgumentException($"ModulesToSave pattern '{pattern}' matches no module. Modules of the model: " +
                                            $"{string.Join(", ", nodes.Select(n => n.Path).Take(30))}{(nodes.Count > 30 ? ", …" : "")}.");
        }
        return nodes.Where(n => patterns.Any(p => FloraInjector.Matches(p, n.Path))).Select(n => new ModuleToSave(n.Path, n.Module)).ToList();
    }

    /// <summary>
    /// The modules to save: <paramref name="named"/> plus, with <paramref name="saveNormLayers"/>, every normalisation
    /// layer of <paramref name="model"/>, without duplicates and without modules inside another one. Throws, naming both,
    /// when a module to save is a target or contains one.
    /// </summary>
    public static IReadOnlyList<ModuleToSave> Resolve(nn.Module model, IReadOnlyList<FloraTarget> targets, IReadOnlyList<ModuleToSave> named, bool saveNormLayers)
    {
        var candidates = named.ToList();
        if (saveNormLayers)
            candidates.AddRange(ModuleTree.Walk(model).Where(n => IsNormLayer(n.Module)).Select(n => new ModuleToSave(n.Path, n.Module)));

        foreach (var module in candidates)
        {
            if (module.Module is IFloraAdapter)
                throw new InvalidOperationException($"'{module.Path}' already has an adapter attached, so it cannot be a module to save. Detach it first.");
            foreach (var target in targets)
            {
                if (ReferenceEquals(target.Slot.Layer, module.Module) || target.Slot.Path == module.Path)
                    throw new ArgumentException($"'{module.Path}' is both a target and a module to save: a target trains its adapter, a module to save trains fully. " +
                                                "Remove it from one of the two (TargetModules or ModulesToSave, [FloraTarget] or [FloraModuleToSave]).");
                if (ContainsModule(module.Module, target.Slot.Layer))
                    throw new ArgumentException($"Module to save '{module.Path}' contains the target '{target.Slot.Path}': its weights would train fully and through the " +
                                                "adapter at once. Save the modules beside the target instead (e.g. its norm layers or head), or drop the target.");
            }
        }

        var chosen = new List<ModuleToSave>();
        foreach (var module in candidates)
        {
            if (chosen.Any(c => ReferenceEquals(c.Module, module.Module))) continue;
            if (candidates.Any(outer => !ReferenceEquals(outer.Module, module.Module) && ContainsModule(outer.Module, module.Module))) continue;
            chosen.Add(module);
        }
        return chosen;
    }

    private static bool ContainsModule(nn.Module outer, nn.Module inner) =>
        ModuleTree.Walk(outer).Any(n => ReferenceEquals(n.Module, inner));
}
