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
    /// Loads a saved adapter as the new named adapter <paramref name="adapterName"/>, frozen and inactive, as PEFT's
    /// <c>load_adapter</c>: <paramref name="path"/> is a Flora adapter file (saved by <see cref="Save(string)"/> or
    /// <see cref="Save(string, string)"/>) or a PEFT directory (<c>save_pretrained</c>'s, read as
    /// <see cref="FloraInjector.AttachFromPeft"/> reads it). Its method, ranks and layers come from the file, its modules
    /// to save from the file's tensors; its layers must be targets of this attachment and its modules to save this
    /// attachment's. Everything is read and checked before anything changes: a foreign layer or module, a name in use, or
    /// any damage throws, naming the file, the key and the fix.
    /// </summary>
    public void LoadAdapter(string path, string adapterName)
    {
        ArgumentNullException.ThrowIfNull(path);
        EnsureAttached();
        EnsureEnabled("load an adapter");
        CheckNewName(adapterName);
        if (System.IO.Directory.Exists(path))
        {
            PeftImporter.LoadInto(this, path, adapterName, null);
            return;
        }
        AdapterFileConfig config = AdapterFile.ReadConfig(path);
        var specs = config.Targets.ToDictionary(t => t.Name, t => t.ToSpec(), StringComparer.Ordinal);
        AddLoadedAdapter(adapterName, AdapterFile.MethodOf(config, path), config.AdaLora, specs, path, content => AdapterFile.Load(content, path));
    }

    /// <summary>
    /// Adds the named adapter <paramref name="name"/> of <paramref name="method"/> with one layer per entry of
    /// <paramref name="specs"/> (by target path), fills it through <paramref name="load"/> (which checks before it copies)
    /// and registers it, frozen and inactive; when anything throws, the new layers are disposed and nothing changed.
    /// </summary>
    internal void AddLoadedAdapter(string name, FloraMethod method, AdaLoraOptions? adaLora, IReadOnlyDictionary<string, AdapterSpec> specs, string path, Action<AdapterContent> load)
    {
        CheckNewName(name);
        CheckSharesLayers(name, method);
        var foreign = specs.Keys.FirstOrDefault(key => _floraTargets.All(t => t.Slot.Path != key));
        if (foreign is not null)
            throw new AdapterFileException(path, foreign, $"the file adapts '{foreign}', which is not a target of this attachment (targets: {string.Join(", ", _floraTargets.Select(t => t.Slot.Path))}). " +
                                                          "Load it into an attachment with that target, or attach it on its own (FloraInjector.AttachFromFile, AttachFromPeft).");
        var targets = _floraTargets.Where(t => specs.ContainsKey(t.Slot.Path)).ToList();
        var adapters = CreateAdapters(targets, target => AdapterDispatch.CreateFromSpec(method, target.Slot.Path, target.Slot.Layer, specs[target.Slot.Path]));
        var loaded = NewInactiveAdapter(name, method, adapters, adaLora);
        try
        {
            load(ContentOf(loaded));
        }
        catch
        {
            loaded.Dispose();
            foreach (var (_, adapter) in adapters) Dispose(adapter);
            throw;
        }
        Register(loaded, adapters);
    }

    /// <summary>What an adapter file holds of the (first) active adapter.</summary>
    internal AdapterContent ActiveContent => ContentOf(_active[0]);

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
