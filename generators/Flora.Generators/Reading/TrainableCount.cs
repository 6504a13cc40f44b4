// Shared by the generator and the analyzers (linked source).
using System.Collections.Generic;
using Flora.Generators.Model;

namespace Flora.Generators
{
    /// <summary>
    /// The trainable parameters <c>AttachFlora()</c> on a model trains, as the compilation shows them: every target's
    /// adapter and every module to save of the model and of the models nested in it (with the root's settings, as the
    /// runtime attaches them), plus, under the root's <c>SaveNormLayers</c>, every norm layer of the tree.
    /// </summary>
    internal sealed class TrainableCount
    {
        public TrainableCount(IReadOnlyList<(CountKind Kind, long Value)> constants, IReadOnlyList<(string Path, long Parameters)> parts,
            IReadOnlyList<CountBlocker> blockers, long? floraTotal)
        {
            Constants = constants;
            Parts = parts;
            Blockers = blockers;
            FloraTotal = floraTotal;
        }

        /// <summary>The count of every method the generator declares a constant for, FLoRA's first; empty when one part is unknown.</summary>
        public IReadOnlyList<(CountKind Kind, long Value)> Constants { get; }

        /// <summary>Each part's FLoRA count (a target's adapter, a module to save, a norm layer), by its path from the model.</summary>
        public IReadOnlyList<(string Path, long Parameters)> Parts { get; }

        /// <summary>What keeps the count from being known at compile time; empty when it is known.</summary>
        public IReadOnlyList<CountBlocker> Blockers { get; }

        /// <summary>
        /// FLoRA's count, the sum of <see cref="Parts"/> saturating at <see cref="long.MaxValue"/>: <c>FloraTrainableParameters</c>
        /// where it fits (past a long there is no constant, but the model is over any budget); null when a part is unknown
        /// or a FLoRA rank invalid (FLORA002/FLORA004).
        /// </summary>
        public long? FloraTotal { get; }
    }
}
