using System.Collections.Generic;
using static TorchSharp.torch;

namespace Flora;

/// <summary>Walking a model's module tree by registered names, as PEFT's <c>named_modules</c> does.</summary>
internal static class ModuleTree
{
    /// <summary>One module below the root: its parent, its name in the parent, its dotted path and the module.</summary>
    public readonly record struct Node(nn.Module Parent, string Child, string Path, nn.Module Module);

    /// <summary>Every module below <paramref name="module"/> depth-first in registration order (the model's order), not entering adapters.</summary>
    public static IEnumerable<Node> Walk(nn.Module module, string prefix = "")
    {
        foreach (var (child, submodule) in module.named_children())
        {
            string path = prefix.Length == 0 ? child : prefix + "." + child;
            yield return new Node(module, child, path, submodule);
            if (submodule is IFloraAdapter) continue;
            foreach (var below in Walk(submodule, path)) yield return below;
        }
    }

    /// <summary>
    /// The position and registered name of the first of <paramref name="parent"/>'s children that
    /// <paramref name="matches"/> (children are found by identity: TorchSharp registers members under their field name,
    /// <c>[ComponentName]</c> or an auto-property's backing field, so names cannot be guessed); (−1, null) when none does.
    /// </summary>
    public static (int Index, string? Name) FindChild(nn.Module parent, System.Func<nn.Module, bool> matches) =>
        FindChild(parent.named_children(), matches);

    /// <summary><see cref="FindChild(nn.Module, System.Func{nn.Module, bool})"/> over children already listed (<c>named_children()</c>).</summary>
    public static (int Index, string? Name) FindChild(IEnumerable<(string name, nn.Module module)> children, System.Func<nn.Module, bool> matches)
    {
        int index = 0;
        foreach (var (name, module) in children)
        {
            if (matches(module)) return (index, name);
            index++;
        }
        return (-1, null);
    }

    /// <summary>Whether <paramref name="module"/> is an adapter around <paramref name="layer"/>.</summary>
    public static bool Wraps(nn.Module module, nn.Module layer) => module is IFloraAdapter adapter && ReferenceEquals(adapter.BaseLayer, layer);

    /// <summary>Whether <paramref name="path"/> lies inside the module at <paramref name="ancestor"/> (strictly below it).</summary>
    public static bool IsBelow(string path, string ancestor) =>
        path.Length > ancestor.Length && path[ancestor.Length] == '.' && path.StartsWith(ancestor, System.StringComparison.Ordinal);
}
