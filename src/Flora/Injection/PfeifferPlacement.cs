using System;
using System.Collections.Generic;
using System.Linq;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// Pfeiffer et al.'s placement: one bottleneck adapter per block rather than one per target. A block is the targets
/// that share a parent module (by identity); its adapter goes after the target registered last in that parent (its
/// position among the parent's children, the model's order), so a ResNet BasicBlock targeting <c>conv1</c> and
/// <c>conv2</c> gets one adapter, after <c>conv2</c>. Its width, unless set, is matched to the FLoRA budget of every
/// target of the block together, so the total stays FLoRA's. The block's other targets get no adapter, but are
/// still checked before the model is touched: a supported layer type, and their FLoRA settings when the width is
/// matched to their budget.
/// </summary>
internal static class PfeifferPlacement
{
    /// <summary>The target of each block that takes the adapter, with the block's targets (in the order given).</summary>
    public static IReadOnlyDictionary<FloraTarget, IReadOnlyList<FloraTarget>> Blocks(IReadOnlyList<FloraTarget> targets)
    {
        ArgumentNullException.ThrowIfNull(targets);
        var blocks = new Dictionary<FloraTarget, IReadOnlyList<FloraTarget>>(ReferenceEqualityComparer.Instance);
        var byParent = targets.Select((target, position) => (Target: target, Position: position))
            .GroupBy(t => t.Target.Slot.Parent, (IEqualityComparer<nn.Module>)ReferenceEqualityComparer.Instance);
        foreach (var block in byParent)
        {
            var children = block.Key.named_children().ToList();
            // A layer not registered in its parent (index −1) never beats a registered one; equal indices keep the later target.
            var last = block.MaxBy(t => (ModuleTree.FindChild(children, module => ReferenceEquals(module, t.Target.Slot.Layer)).Index, t.Position)).Target;
            blocks[last] = block.Select(t => t.Target).ToArray();
        }
        return blocks;
    }

    /// <summary>
    /// What <see cref="FloraAttachment"/> creates for each of <paramref name="targets"/>: the Pfeiffer adapter of its block
    /// for the last target of each parent, nothing (null) for the others, after checking that their layer is supported.
    /// </summary>
    public static Func<FloraTarget, AdapterLayer?> Creator(IReadOnlyList<FloraTarget> targets, FloraModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var blocks = Blocks(targets);
        return target =>
        {
            if (!blocks.TryGetValue(target, out var block))
            {
                _ = AdapterDispatch.WeightOf(target.Slot.Path, target.Slot.Layer); // refuses an unsupported layer as every method does
                return null;
            }
            return AdapterDispatch.CreateBottleneck(FloraMethod.Pfeiffer, target.Slot.Path, target.Slot.Layer, options, target.Options,
                block.Select(t => (t.Slot.Path, t.Slot.Layer, t.Options)).ToArray());
        };
    }
}
