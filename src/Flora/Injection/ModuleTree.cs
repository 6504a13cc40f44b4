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

    /// <summary>Whether <paramref name="path"/> lies inside the module at <paramref name="ancestor"/> (strictly below it).</summary>
    public static bool IsBelow(string path, string ancestor) =>
        path.Length > ancestor.Length && path[ancestor.Length] == '.' && path.StartsWith(ancestor, System.StringComparison.Ordinal);
}
