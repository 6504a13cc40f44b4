using System;
using System.Collections;
using System.Collections.Concurrent;
using System.Linq;
using System.Reflection;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// How many forward hooks a TorchSharp module holds. TorchSharp 0.107 keeps them in private dictionaries of its hookable
/// module type and offers no count, so this reads those dictionaries (found once per module type by name and type).
/// The fused path of a hook-bound adapter runs only where the base layer has no hooks but the adapter's own: a user's
/// hook must see the real batch and keep its effect on the output.
/// </summary>
internal static class ModuleHooks
{
    private static readonly ConcurrentDictionary<Type, FieldInfo[]> HookFields = new();

    /// <summary>The number of forward pre-hooks plus forward hooks on <paramref name="module"/>; null when this TorchSharp version keeps them elsewhere.</summary>
    public static int? Count(nn.Module module)
    {
        var fields = HookFields.GetOrAdd(module.GetType(), FindHookFields);
        if (fields.Length == 0) return null;
        int count = 0;
        foreach (var field in fields)
            if (field.GetValue(module) is ICollection hooks) count += hooks.Count;
        return count;
    }

    private static FieldInfo[] FindHookFields(Type type)
    {
        var fields = Enumerable.Empty<FieldInfo>();
        for (Type? t = type; t is not null; t = t.BaseType)
        {
            fields = fields.Concat(t.GetFields(BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.DeclaredOnly)
                .Where(f => f.Name.EndsWith("pre_hooks", StringComparison.Ordinal) || f.Name.EndsWith("post_hooks", StringComparison.Ordinal))
                .Where(f => typeof(ICollection).IsAssignableFrom(f.FieldType)));
        }
        return fields.ToArray();
    }
}
