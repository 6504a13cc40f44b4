// Shared by the generator and the analyzers (linked source).
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Flora.Generators.Model;
using Microsoft.CodeAnalysis;

namespace Flora.Generators
{
    /// <summary>
    /// Adds up what <c>AttachFlora()</c> on a model trains, as the runtime attaches it: the targets and modules to save of
    /// the model and of every model nested in it (the root's <c>[FloraModel]</c> settings apply to all of them), and under
    /// the root's <c>SaveNormLayers</c> the norm layers of the whole tree (<see cref="NormLayerScan"/> on each model).
    /// </summary>
    internal static class TrainableCounter
    {
        public static TrainableCount Count(ModelDescription model, ModelReader reader, CancellationToken cancellationToken)
        {
            var targets = new List<(string Path, TargetSpec Spec)>();
            var saved = new List<(string Path, long Parameters)>();
            var blockers = new List<CountBlocker>();
            Collect(model, "", model.Header.SaveNormLayers, reader, targets, saved, blockers, cancellationToken);
            if (blockers.Count > 0) return new TrainableCount(new List<(CountKind, long)>(), new List<(string, long)>(), blockers, null);

            var specs = targets.Select(t => t.Spec).ToList();
            var constants = CountConstants.For(specs, saved.Select(s => s.Parameters), model.Header);
            var parts = new List<(string Path, long Parameters)>();
            bool ranksValid = true;
            foreach (var (path, spec) in targets)
            {
                if (CountConstants.Flora(spec, model.Header) is long count) parts.Add((path, count));
                else ranksValid = false;
            }
            parts.AddRange(saved);
            long? total = ranksValid ? parts.Aggregate(0L, (sum, part) => FloraRankRules.SaturatingAdd(sum, part.Parameters)) : null;
            return new TrainableCount(constants, parts, blockers, total);
        }

        private static void Collect(ModelDescription model, string prefix, bool saveNormLayers, ModelReader reader,
            List<(string, TargetSpec)> targets, List<(string, long)> saved, List<CountBlocker> blockers, CancellationToken cancellationToken)
        {
            foreach (var target in model.Targets)
            {
                if (target.Spec is not { } spec) continue; // not served: no adapter (FLORA006)
                if (!spec.ShapeKnown)
                    blockers.Add(new CountBlocker(CountBlockerKind.TargetShape, $"the shape of target '{prefix}{spec.MemberName}' is not a compile-time constant", LocationOf(target.Member)));
                targets.Add((prefix + spec.MemberName, spec));
            }
            foreach (var module in model.ModulesToSave)
            {
                if (module.Spec is not { } spec) continue; // not a module to save (FLORA011)
                if (spec.Parameters is long parameters) saved.Add((prefix + spec.MemberName, parameters));
                else blockers.Add(new CountBlocker(CountBlockerKind.ModuleSize, $"the size of module to save '{prefix}{spec.MemberName}' is not a compile-time constant", LocationOf(module.Member)));
            }
            foreach (var nested in model.Nested)
            {
                if (nested.Model is { } inner) Collect(inner, prefix + nested.Member.Name + ".", saveNormLayers, reader, targets, saved, blockers, cancellationToken);
                else blockers.Add(new CountBlocker(CountBlockerKind.NestedModel, nested.Unknown ?? "", LocationOf(nested.Member)));
            }
            if (!saveNormLayers) return;
            var nestedMembers = new HashSet<ISymbol>(model.Nested.Select(n => n.Member), SymbolEqualityComparer.Default);
            var norms = NormLayerScan.Count(model.Type, reader.Compilation,
                member => reader.Symbols.IsAnnotated(member) || nestedMembers.Contains(member), cancellationToken);
            saved.AddRange(norms.Layers.Select(layer => (prefix + layer.Member, layer.Parameters)));
            blockers.AddRange(norms.Blockers);
        }

        private static Location LocationOf(ISymbol member) => member.Locations.Length > 0 ? member.Locations[0] : Location.None;
    }
}
