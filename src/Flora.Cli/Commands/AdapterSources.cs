using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using static TorchSharp.torch;

namespace Flora.Cli.Commands;

/// <summary>
/// Where <c>flora eval</c>, <c>flora merge</c> and <c>flora inspect</c> find an adapter, and by which name: a Flora
/// adapter file; a directory of them (each named by its file name without <c>.flora.safetensors</c> or
/// <c>.safetensors</c>); or a PEFT directory in PEFT's multi-adapter layout ("default" at its root, every other adapter
/// in a sub-directory of its name). <c>--adapter NAME</c> picks one adapter of a directory (default: "default", or the
/// only one).
/// </summary>
internal static class AdapterSources
{
    private const string DefaultName = "default";

    /// <summary>One adapter of a directory: its name, where it is, its format (Flora or PEFT) and method.</summary>
    public sealed record Entry(string Name, string Path, string Format, string Method);

    /// <summary>The adapters in <paramref name="directory"/>: "default" first, then by name.</summary>
    public static IReadOnlyList<Entry> List(string directory)
    {
        var entries = new List<Entry>();
        if (File.Exists(Path.Combine(directory, PeftAdapterConfig.FileName))) entries.Add(Peft(DefaultName, directory));
        foreach (var sub in PeftAdapterConfig.AdapterSubdirectories(directory)) entries.Add(Peft(Path.GetFileName(sub), sub));
        foreach (var file in Directory.GetFiles(directory, "*.safetensors").Order(StringComparer.Ordinal))
        {
            AdapterFileConfig config;
            try
            {
                config = AdapterFile.ReadConfig(file);
            }
            catch (AdapterFileException)
            {
                continue; // not a Flora adapter file (PEFT's weights, a merged model, …)
            }
            entries.Add(new Entry(NameOf(file), file, "Flora", config.Method));
        }
        return entries.OrderBy(e => e.Name == DefaultName ? 0 : 1).ThenBy(e => e.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// Attaches the adapter at <paramref name="path"/> (a file, or <paramref name="name"/> of a directory) to
    /// <paramref name="model"/>; returns the attachment and the adapter's name (null for a file).
    /// </summary>
    public static (FloraAttachment Attachment, string? Name) Attach(nn.Module model, string path, string? name)
    {
        if (File.Exists(path))
        {
            if (name is not null)
                throw new ArgumentException($"'{path}' is one adapter file; --adapter picks an adapter of a directory (`flora inspect DIR` lists them). Leave --adapter out.");
            return (FloraInjector.AttachFromFile(model, path), null);
        }
        if (!Directory.Exists(path))
            throw new FileNotFoundException($"adapter file or directory '{path}' does not exist.", path);
        var entry = Find(path, name);
        var attachment = entry.Format == "PEFT" ? FloraInjector.AttachFromPeft(model, entry.Path) : FloraInjector.AttachFromFile(model, entry.Path);
        return (attachment, entry.Name);
    }

    /// <summary>The adapter <paramref name="name"/> of <paramref name="directory"/> ("default", or the only one, when null), or an error listing them.</summary>
    public static Entry Find(string directory, string? name)
    {
        var entries = List(directory);
        string names = string.Join(", ", entries.Select(e => e.Name));
        if (entries.Count == 0)
            throw new ArgumentException($"'{directory}' holds no adapter: no Flora adapter file and no PEFT adapter_config.json.");
        name ??= entries.Count == 1 ? entries[0].Name : entries.Any(e => e.Name == DefaultName) ? DefaultName
            : throw new ArgumentException($"'{directory}' holds several adapters ({names}); pick one with --adapter NAME.");
        return entries.FirstOrDefault(e => e.Name == name)
               ?? throw new ArgumentException($"'{directory}' has no adapter named '{name}'. Adapters: {names}.");
    }

    private static Entry Peft(string name, string directory)
    {
        var config = PeftAdapterConfig.Read(directory);
        return new Entry(name, directory, "PEFT", config.AdaLora is not null ? "adalora" : config.UseDora ? "dora" : "lora");
    }

    /// <summary>A Flora file's adapter name: its file name without <c>.flora.safetensors</c> or <c>.safetensors</c>.</summary>
    private static string NameOf(string file)
    {
        string name = Path.GetFileName(file);
        foreach (var suffix in new[] { ".flora.safetensors", ".safetensors" })
            if (name.EndsWith(suffix, StringComparison.Ordinal)) return name[..^suffix.Length];
        return name;
    }
}
