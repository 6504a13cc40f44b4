using System.Collections.Generic;
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
        /// <summary>The plans of the network <paramref name="settings"/> names.</summary>
        public static IReadOnlyList<MethodPlan> For(CompareSettings settings) => settings.IsResNet18 ? MethodPlan.ForResNet18() : MethodPlan.Default();
    }
}
