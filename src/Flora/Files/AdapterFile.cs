using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// Adapter files: one safetensors file with the adapter tensors (keys <c>{layer path}.{tensor}</c>), the parameters and
/// buffers of the modules to save (keys <c>{module path}.{name}</c>), nothing else of the base model, and the <see cref="AdapterFileConfig"/> in its header. Saving is atomic (a temporary file renamed);
/// loading checks the header, the configuration, every key, shape, dtype and value before it copies anything, so a
/// file that fails leaves the model bit-identical.
/// </summary>
public static class AdapterFile
{
    /// <summary>The library version written into files.</summary>
    internal static string LibraryVersion { get; } =
        typeof(AdapterFile).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    /// <summary>The configuration describing one adapter's layers and modules to save.</summary>
    internal static AdapterFileConfig ConfigOf(AdapterContent adapter) => new()
    {
        LibraryVersion = LibraryVersion,
        Method = adapter.Method.ToString().ToLowerInvariant(),
        Targets = adapter.Adapters.Select(a => AdapterFileConfig.TargetEntry.Of(a.Name, a.Spec) with { RankPattern = (a as AdaLoraLayer)?.RankPattern.ToArray() }).ToList(),
        AdaLora = adapter.AdaLora,
        ModulesToSave = adapter.ModulesToSave.Select(m => new AdapterFileConfig.SavedModuleEntry
        {
            Name = m.Path, Module = m.Module.GetType().Name, Tensors = m.Tensors.Select(t => t.Key).ToArray(),
        }).ToList(),
    };

    /// <summary>Writes one adapter's tensors and configuration to <paramref name="path"/> atomically.</summary>
    internal static void Save(AdapterContent adapter, string path)
    {
        if (adapter.IsMerged)
            throw new InvalidOperationException($"Cannot save '{path}' while the adapters are merged: the base weights hold ΔW. Call UnmergeFlora() first, save, then merge again.");
        var tensors = adapter.FileTensors().ToDictionary(t => t.Key, t => t.Tensor);
        var metadata = new Dictionary<string, string> { [AdapterFileConfig.MetadataEntryName] = ConfigOf(adapter).ToJson() };
        Safetensors.Save(path, tensors, metadata);
    }

    /// <summary>The method <paramref name="config"/> (read from <paramref name="path"/>) records; an unknown one is refused.</summary>
    internal static FloraMethod MethodOf(AdapterFileConfig config, string path) =>
        Enum.TryParse(config.Method, ignoreCase: true, out FloraMethod method)
            ? method
            : throw new AdapterFileException(path, SafetensorsHeader.MetadataKey, $"its method '{config.Method}' is unknown to this version of Flora.");

    /// <summary>Reads the configuration of an adapter file without loading it into a model.</summary>
    public static AdapterFileConfig ReadConfig(string path)
    {
        using var content = Read(path);
        return ParseConfig(path, content);
    }

    /// <summary>
    /// Loads <paramref name="path"/> into one adapter's tensors. Every check runs first; any failure throws
    /// <see cref="AdapterFileException"/> naming the file, the key and the fix, and changes nothing.
    /// </summary>
    internal static void Load(AdapterContent attachment, string path)
    {
        if (attachment.IsMerged)
            throw new InvalidOperationException($"Cannot load '{path}' while the adapters are merged. Call UnmergeFlora() first, load, then merge again.");
        using var content = Read(path);
        AdapterFileConfig config = ParseConfig(path, content);

        string method = attachment.Method.ToString().ToLowerInvariant();
        if (config.Method != method && (config.Targets.Count > 0 || attachment.Adapters.Count > 0))
            throw new AdapterFileException(path, null, $"it holds {config.Method} adapters but the model has {method} attached. Attach with FloraMethod.{Capitalise(config.Method)} to load it.");
        var fileTargets = config.Targets.ToDictionary(t => t.Name);
        foreach (var adapter in attachment.Adapters)
        {
            if (!fileTargets.TryGetValue(adapter.Name, out var entry))
                throw new AdapterFileException(path, adapter.Name, $"the file has no adapter for '{adapter.Name}', which the model targets. Load a file saved from a model with the same targets.");
            if (!entry.ToSpec().Equals(adapter.Spec))
                throw new AdapterFileException(path, adapter.Name, $"the file's adapter is {entry.ToSpec().Describe()} but the model's is {adapter.Spec.Describe()}. Attach with the same ranks and scale as the file, or load a matching file.");
            if (entry.RankPattern is bool[] pattern && (adapter is not AdaLoraLayer adaLora || pattern.Length != adaLora.Config.Rank))
                throw new AdapterFileException(path, adapter.Name, adapter is AdaLoraLayer ? $"its rank_pattern has {pattern.Length} entries but the adapter has {adapter.Spec.Ranks[0]} triplets. The file is damaged; re-save it."
                    : "it records a rank_pattern, which only AdaLoRA adapters have. The file is damaged; re-save it.");
        }
        var targeted = attachment.Adapters.Select(a => a.Name).ToHashSet();
        var extraTarget = config.Targets.FirstOrDefault(t => !targeted.Contains(t.Name));
        if (extraTarget is not null)
            throw new AdapterFileException(path, extraTarget.Name, $"the file has an adapter for '{extraTarget.Name}', which the model does not target. Attach the same targets the file was saved from.");
        CheckModulesToSave(path, config, attachment);

        var expected = attachment.FileTensors().ToList();
        var expectedKeys = expected.Select(e => e.Key).ToHashSet();
        var extraKey = content.Tensors.Keys.FirstOrDefault(k => !expectedKeys.Contains(k));
        if (extraKey is not null)
            throw new AdapterFileException(path, extraKey, "the file holds a tensor the model's adapters do not have. The file was not written for this configuration; re-save it from a matching model.");
        foreach (var (key, parameter) in expected)
        {
            if (!content.Tensors.TryGetValue(key, out var tensor))
                throw new AdapterFileException(path, key, "the tensor is missing. The file is incomplete; re-save it.");
            if (!tensor.shape.SequenceEqual(parameter.shape))
                throw new AdapterFileException(path, key, $"its shape is [{string.Join(", ", tensor.shape)}] but the adapter's is [{string.Join(", ", parameter.shape)}]. Re-save the file from a model with the same ranks.");
            if (!torch.is_floating_point(parameter))
            {
                if (tensor.dtype != parameter.dtype)
                    throw new AdapterFileException(path, key, $"its dtype is {tensor.dtype} but the module's buffer is {parameter.dtype}. Re-save the file from a matching model.");
                continue; // an integer buffer, e.g. BatchNorm's num_batches_tracked
            }
            AdapterFileException.ThrowUnlessFiniteFloatingPoint(path, key, tensor, "Adapter tensors are float32, float16, bfloat16 or float64; re-save the file.");
        }

        using (no_grad())
        {
            foreach (var (key, parameter) in expected)
                parameter.copy_(content.Tensors[key]); // converts dtype and device to the adapter's
        }
        foreach (var adapter in attachment.Adapters.OfType<AdaLoraLayer>())
            adapter.SetRankPattern(fileTargets[adapter.Name].RankPattern ?? Enumerable.Repeat(true, adapter.Config.Rank).ToArray());
    }

    /// <summary>The file's modules to save must be the attachment's: the same paths, module types and tensor names.</summary>
    private static void CheckModulesToSave(string path, AdapterFileConfig config, AdapterContent attachment)
    {
        var fileModules = config.ModulesToSave.ToDictionary(m => m.Name);
        foreach (var saved in attachment.ModulesToSave)
        {
            if (!fileModules.TryGetValue(saved.Path, out var entry))
                throw new AdapterFileException(path, saved.Path, $"the file has no saved module '{saved.Path}', which this attachment saves whole. " +
                                                                 "Attach with the same modules to save as the file was written with (or load it with AttachFromFile).");
            string type = saved.Module.GetType().Name;
            if (entry.Module != type)
                throw new AdapterFileException(path, saved.Path, $"the file saved a {entry.Module} at '{saved.Path}' but the model has a {type} there. Load the file into the model it was trained on.");
            var names = saved.Tensors.Select(t => t.Key).ToArray();
            if (!names.OrderBy(n => n, StringComparer.Ordinal).SequenceEqual(entry.Tensors.OrderBy(n => n, StringComparer.Ordinal)))
                throw new AdapterFileException(path, saved.Path, $"the file saved tensors [{string.Join(", ", entry.Tensors)}] for '{saved.Path}' but the model's {type} has [{string.Join(", ", names)}]. " +
                                                                 "Load the file into a model built the same way (e.g. the same affine and bias settings).");
        }
        var savedPaths = attachment.ModulesToSave.Select(m => m.Path).ToHashSet();
        var extra = config.ModulesToSave.FirstOrDefault(m => !savedPaths.Contains(m.Name));
        if (extra is not null)
            throw new AdapterFileException(path, extra.Name, $"the file saved the module '{extra.Name}' whole, which this attachment does not save. " +
                                                             "Attach with the same modules to save (ModulesToSave or [FloraModuleToSave]), or load it with AttachFromFile.");
    }

    private static SafetensorsContent Read(string path) => LoadSafetensors(path, "Check the path, or save adapters first with SaveFlora.");

    /// <summary>
    /// Reads the safetensors file of an adapter at <paramref name="path"/>; a missing file (the message ends with
    /// <paramref name="missingFix"/>) and a file that is not valid safetensors are refused as an
    /// <see cref="AdapterFileException"/> with the original error as its inner exception.
    /// </summary>
    internal static SafetensorsContent LoadSafetensors(string path, string missingFix)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
            throw AdapterFileException.Missing(path, missingFix);
        try
        {
            return Safetensors.Load(path);
        }
        catch (SafetensorsFormatException e)
        {
            throw AdapterFileException.NotSafetensors(e);
        }
    }

    private static AdapterFileConfig ParseConfig(string path, SafetensorsContent content)
    {
        if (!content.Metadata.TryGetValue(AdapterFileConfig.MetadataEntryName, out var json))
            throw new AdapterFileException(path, SafetensorsHeader.MetadataKey, $"it has no '{AdapterFileConfig.MetadataEntryName}' configuration, so it is not a Flora adapter file. Save adapters with SaveFlora.");
        try
        {
            int format = AdapterFileConfig.FormatOf(json);
            if (format > AdapterFileConfig.CurrentFormat)
                throw new AdapterFileException(path, SafetensorsHeader.MetadataKey, $"it uses format {format}, newer than this library's {AdapterFileConfig.CurrentFormat}. Update Flora to read it.");
            return AdapterFileConfig.FromJson(json);
        }
        catch (JsonException e)
        {
            throw new AdapterFileException(path, SafetensorsHeader.MetadataKey, $"its configuration is not valid ({e.Message}). The file is damaged; re-save it.");
        }
    }

    private static string Capitalise(string method) => method.Length == 0 ? method : method switch
    {
        "bitfit" => "BitFit",
        "adalora" => "AdaLora",
        _ => char.ToUpperInvariant(method[0]) + method[1..],
    };
}
