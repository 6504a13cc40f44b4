using System.Collections.Generic;
using System.Linq;
using Flora.Training;

namespace Flora.Cli.Experiments;

/// <summary>
/// The comparison's choice of <see cref="MethodPlan"/>s. <see cref="MethodPlan"/> lives in Flora.Training, which knows
/// nothing of <see cref="CompareSettings"/>; this extension keeps the call <c>MethodPlan.For(settings)</c>.
/// </summary>
internal static class MethodPlanExtensions
{
    extension(MethodPlan)
    {
        /// <summary>
        /// The plans of the network <paramref name="settings"/> names, the adapters with its forward path and adapter
        /// dtype; on the ResNet-18 with frozen BatchNorm (<see cref="TrainSettings.FrozenBatchNorm"/>) the adapter
        /// methods neither train nor save the BatchNorm layers.
        /// </summary>
        public static IReadOnlyList<MethodPlan> For(CompareSettings settings)
        {
            System.ArgumentNullException.ThrowIfNull(settings);
            var plans = settings.IsResNet18 ? MethodPlan.ForResNet18(settings.Budgets, saveNormLayers: !settings.FineTune.FrozenBatchNorm) : MethodPlan.Comparison(settings.Budgets);
            return plans.Select(p => p.Method is null ? p : p with { Defaults = settings.AdapterSettings(p.Defaults) }).ToArray();
        }
    }
}
