using System;
using System.Collections.Generic;
using System.Linq;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// The normalisation layers with running statistics (BatchNorm, InstanceNorm tracking its statistics) that an attachment
/// does not train: they are part of the frozen base, so while adapters are attached they run in eval mode, their running
/// statistics kept as they were, whatever <c>train()</c> says. Otherwise every training forward would move them (TorchSharp
/// and PyTorch update them in train mode even with frozen weights), nothing would save them, and neither a saved adapter
/// loaded onto a fresh base nor the detached model would compute what was trained. Layers to train and save go through
/// <see cref="FloraModelOptions.SaveNormLayers"/> or the modules to save.
/// <para>
/// The attachment sets them to eval at attach and at the start of every forward of its model (<see cref="ForwardScope"/>).
/// A forward that bypasses those hooks (the root's <c>forward(x)</c> in train mode) can still move them: the statistics
/// of attach time are kept, saving refuses moved ones (<see cref="EnsureUnchanged"/>), and detaching puts them back
/// bit-exactly with each layer's mode following the model's.
/// </para>
/// </summary>
internal sealed class FrozenNormLayers : IDisposable
{
    private readonly (string Path, nn.Module Layer)[] _layers;
    private readonly OriginalValues _statistics;

    /// <summary>The layers of <paramref name="model"/> with running statistics that are not inside any of <paramref name="trained"/>.</summary>
    public FrozenNormLayers(nn.Module model, IReadOnlyList<SavedModule> trained)
    {
        var inside = new HashSet<nn.Module>(ReferenceEqualityComparer.Instance);
        foreach (var saved in trained)
        {
            inside.Add(saved.Module);
            foreach (var node in ModuleTree.Walk(saved.Module)) inside.Add(node.Module);
        }
        _layers = ModuleTree.Walk(model)
            .Where(n => HasRunningStatistics(n.Module) && !inside.Contains(n.Module))
            .Select(n => (n.Path, n.Module))
            .ToArray();
        _statistics = new OriginalValues(Statistics);
        KeepInEval();
    }

    /// <summary>The frozen layers' paths, in the model's order.</summary>
    public IReadOnlyList<string> Paths => _layers.Select(l => l.Path).ToArray();

    /// <summary>Whether <paramref name="module"/> is a normalisation layer that updates running statistics in train mode.</summary>
    public static bool HasRunningStatistics(nn.Module module) =>
        ModulesToSaveSelection.IsNormLayer(module) && module.named_buffers(recurse: false).Any(b => b.name == "running_mean");

    /// <summary>Puts every frozen layer in eval mode (those a <c>train()</c> switched back).</summary>
    public void KeepInEval()
    {
        foreach (var (_, layer) in _layers)
            if (layer.training) layer.eval();
    }

    /// <summary>Throws, naming the layers and the fix, when running statistics moved since attach.</summary>
    public void EnsureUnchanged(string action)
    {
        var moved = Moved();
        if (moved.Count == 0) return;
        throw new InvalidOperationException(
            $"Cannot {action}: the running statistics of {string.Join(", ", moved.Select(p => $"'{p}'"))} moved since attach, but they are frozen and not saved " +
            "with the adapter, so a model loaded from it would compute something else. Flora keeps such layers in eval mode during every call(x) of the " +
            "attached model; a forward that bypasses it (model.forward(x) in train mode) moved them. Call the model with call(x), or train and save " +
            "them: SaveNormLayers = true ([FloraModel] or FloraModelOptions) or ModulesToSave. Detaching puts the statistics of attach time back.");
    }

    /// <summary>Puts the statistics of attach time back and gives each layer the mode of <paramref name="model"/>.</summary>
    public void Restore(nn.Module model)
    {
        _statistics.Restore();
        bool training = model.training;
        foreach (var (_, layer) in _layers)
            if (layer.training != training) layer.train(training);
    }

    private IReadOnlyList<string> Moved()
    {
        var moved = new List<string>();
        foreach (var (path, layer) in _layers)
            if (!_statistics.Matches(Statistics(path, layer))) moved.Add(path);
        return moved;
    }

    private IEnumerable<(string Key, Tensor Tensor)> Statistics() => _layers.SelectMany(l => Statistics(l.Path, l.Layer));

    private static IEnumerable<(string Key, Tensor Tensor)> Statistics(string path, nn.Module layer) =>
        layer.named_buffers(recurse: false).Select(b => (path + "." + b.name, b.buffer));

    public void Dispose() => _statistics.Dispose();
}
