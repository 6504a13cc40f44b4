using System;
using System.Collections.Generic;
using System.Linq;

namespace Flora;

/// <summary>Saving one named adapter, and loading a saved one as a new named adapter (PEFT's <c>load_adapter</c>).</summary>
public sealed partial class FloraAttachment
{
    /// <summary>
    /// Saves the adapter <paramref name="adapterName"/> — active or not — to a safetensors file, as <see cref="Save(string)"/>
    /// saves the active one: its tensors, its copy of the modules to save, and its configuration.
    /// </summary>
    public void Save(string path, string adapterName)
    {
        EnsureAttached();
        EnsureEnabled("save");
        var named = Find(adapterName);
        if (_active.Contains(named)) EnsureAdaptersRan("save");
        _frozenNorms.EnsureUnchanged("save");
        AdapterFile.Save(ContentOf(named), path);
    }

    /// <summary>
    /// Loads the adapter file at <paramref name="path"/> (saved by <see cref="Save(string)"/> or <see cref="Save(string, string)"/>,
    /// from a model with these targets) as the new named adapter <paramref name="adapterName"/>, frozen and inactive, as
    /// PEFT's <c>load_adapter</c>: its method, ranks and layers come from the file, its modules to save from the file's
    /// tensors. The file is read and checked whole before anything changes: a layer the attachment does not target, a
    /// module to save it does not have, a name in use, or any damage throws, naming the file, the key and the fix.
    /// </summary>
    public void LoadAdapter(string path, string adapterName)
    {
        ArgumentNullException.ThrowIfNull(path);
        EnsureAttached();
        EnsureEnabled("load an adapter");
        CheckNewName(adapterName);
        AdapterFileConfig config = AdapterFile.ReadConfig(path);
        FloraMethod method = AdapterFile.MethodOf(config, path);
        CheckSharesLayers(adapterName, method);
        var specs = config.Targets.ToDictionary(t => t.Name, t => t.ToSpec(), StringComparer.Ordinal);
        var foreign = specs.Keys.FirstOrDefault(name => _floraTargets.All(t => t.Slot.Path != name));
        if (foreign is not null)
            throw new AdapterFileException(path, foreign, $"the file adapts '{foreign}', which is not a target of this attachment (targets: {string.Join(", ", _floraTargets.Select(t => t.Slot.Path))}). " +
                                                          "Load it into an attachment with that target, or attach it with FloraInjector.AttachFromFile.");
        var targets = _floraTargets.Where(t => specs.ContainsKey(t.Slot.Path)).ToList();
        var adapters = CreateAdapters(targets, target => AdapterDispatch.CreateFromSpec(method, target.Slot.Path, target.Slot.Layer, specs[target.Slot.Path]));
        var loaded = NewInactiveAdapter(adapterName, method, adapters, config.AdaLora);
        try
        {
            AdapterFile.Load(ContentOf(loaded), path);
        }
        catch
        {
            loaded.Dispose();
            foreach (var (_, adapter) in adapters) Dispose(adapter);
            throw;
        }
        Register(loaded, adapters);
    }

    /// <summary>What an adapter file holds of <paramref name="named"/>: its layers, and its values of the modules to save (the modules' own while active).</summary>
    private AdapterContent ContentOf(NamedAdapter named)
    {
        var parked = named.ParkedModuleValues;
        var modules = _savedModules.Select((m, i) => new AdapterContent.SavedModuleContent(m.Path, m.Module,
            parked is null ? m.Tensors() : m.Tensors().Select(t => (t.Key, parked[i].Values[t.Key])).ToList())).ToList();
        return new AdapterContent(named.Method, named.Layers, named.Allocator?.Options, modules, named.IsMerged);
    }

    /// <summary>The one active adapter, or an error naming the active ones and <paramref name="fix"/> when several are.</summary>
    private NamedAdapter SingleActive(string action, string fix) =>
        _active.Length == 1
            ? _active[0]
            : throw new InvalidOperationException($"Cannot {action} with {_active.Length} adapters active ({string.Join(", ", _active.Select(a => $"'{a.Name}'"))}): " +
                                                  $"say which one. Use {fix}.");
}
