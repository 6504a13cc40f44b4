using Microsoft.CodeAnalysis;

namespace Flora.Analyzers
{
    /// <summary>The Flora diagnostic ids (the code fixes' <c>FixableDiagnosticIds</c> reuse them).</summary>
    public static class FloraDiagnosticIds
    {
        public const string NotPartial = "FLORA001";
        public const string RankBelowOne = "FLORA002";
        public const string RankExceedsMode = "FLORA003";
        public const string R3ExceedsKernel = "FLORA004";
        public const string R3OnLinear = "FLORA005";
        public const string UnsupportedTarget = "FLORA006";
        public const string InvalidScale = "FLORA007";
        public const string OverBudget = "FLORA008";
        public const string NotAModule = "FLORA009";
        public const string ForwardBypassesAdapter = "FLORA010";
        public const string InvalidModuleToSave = "FLORA011";
    }

    /// <summary>The one table of Flora's diagnostics: ids, titles, messages, categories, severities and help links.</summary>
    internal static class DiagnosticDescriptors
    {
        private const string Usage = "Flora.Usage";
        private const string Budget = "Flora.Budget";
        private const string HelpBase = "https://github.com/flora-generated/Flora.Generated/blob/main/docs/DIAGNOSTICS.md#";

        /// <summary>The diagnostic property that names the attribute argument concerned (Rank, InRank, OutRank, R3, Scale).</summary>
        public const string ArgumentName = "ArgumentName";

        /// <summary>
        /// The diagnostic property with the source text that should replace the argument (e.g. <c>R3 = 3</c>,
        /// <c>OutRank = 16, InRank = 1</c>; empty: remove it). Present when the fix is obvious.
        /// </summary>
        public const string Replacement = "Replacement";

        /// <summary>
        /// The diagnostic property, present on FLORA011 when removing <c>[FloraModuleToSave]</c> is the obvious fix (the member
        /// is also a target, or holds no module); absent when it is not (a static member).
        /// </summary>
        public const string RemoveAttribute = "RemoveAttribute";

        /// <summary>What FLORA002's message adds for FLoRA's ranks (Rank, InRank, OutRank, R3).</summary>
        public const string FloraRankAdvice = "Every FLoRA rank must be at least 1.";

        /// <summary>What FLORA002's message adds for LoraRank, whose 0 means unset.</summary>
        public const string LoraRankAdvice = "A LoRA rank must be at least 1; leave LoraRank unset (0) to match FLoRA's budget.";

        /// <summary>What FLORA007's message adds for Scale.</summary>
        public const string ScaleAdvice = "Use a positive scale such as the paper's 0.4.";

        /// <summary>What FLORA007's message adds for LoraAlpha, whose 0 means unset.</summary>
        public const string LoraAlphaAdvice = "Use a positive α (the update is scaled by α/r), or leave LoraAlpha unset (0) for α = r.";

        public static readonly DiagnosticDescriptor NotPartial = Create(FloraDiagnosticIds.NotPartial,
            "A Flora model and its containing types must be partial",
            "'{0}' must be partial: {1}",
            Usage, DiagnosticSeverity.Error);

        public static readonly DiagnosticDescriptor RankBelowOne = Create(FloraDiagnosticIds.RankBelowOne,
            "A FLoRA or LoRA rank must be at least 1",
            "{0} {1} of '{2}' is less than 1. {3}",
            Usage, DiagnosticSeverity.Error);

        public static readonly DiagnosticDescriptor RankExceedsMode = Create(FloraDiagnosticIds.RankExceedsMode,
            "A rank exceeds the dimension it factorises and is clamped",
            "{0} {1} of '{2}' exceeds {3}; it is clamped to {4}. {5}",
            Usage, DiagnosticSeverity.Warning);

        public static readonly DiagnosticDescriptor R3ExceedsKernel = Create(FloraDiagnosticIds.R3ExceedsKernel,
            "R3 exceeds a kernel axis",
            "R3 {0} of '{1}' exceeds kernel axis {2} of size {3}. Use R3 ≤ {4}, or leave R3 unset to inherit it.",
            Usage, DiagnosticSeverity.Error);

        public static readonly DiagnosticDescriptor R3OnLinear = Create(FloraDiagnosticIds.R3OnLinear,
            "R3 has no effect on a Linear layer",
            "R3 is set on '{0}', a Linear layer without kernel axes; it has no effect. Remove it.",
            Usage, DiagnosticSeverity.Warning);

        public static readonly DiagnosticDescriptor UnsupportedTarget = Create(FloraDiagnosticIds.UnsupportedTarget,
            "[FloraTarget] is on a member FLoRA cannot adapt",
            "'{0}' {1}. FLoRA adapts instance fields and properties of type Linear, Conv1d, Conv2d or Conv3d.",
            Usage, DiagnosticSeverity.Error);

        public static readonly DiagnosticDescriptor InvalidScale = Create(FloraDiagnosticIds.InvalidScale,
            "Scale and LoraAlpha must be finite numbers greater than 0",
            "{0} {1} of '{2}' is not a finite number greater than 0. {3}",
            Usage, DiagnosticSeverity.Error);

        public static readonly DiagnosticDescriptor OverBudget = Create(FloraDiagnosticIds.OverBudget,
            "The trainable parameters exceed MaxTrainableParameters",
            "'{0}' trains {1} parameters, over its budget of {2} (MaxTrainableParameters). Largest: {3}. Lower their ranks or raise the budget.",
            Budget, DiagnosticSeverity.Error);

        public static readonly DiagnosticDescriptor NotAModule = Create(FloraDiagnosticIds.NotAModule,
            "A Flora model must be a TorchSharp module",
            "'{0}' has Flora attributes but is not a TorchSharp Module; derive it from Module<Tensor, Tensor> (or another torch.nn.Module).",
            Usage, DiagnosticSeverity.Error);

        public static readonly DiagnosticDescriptor ForwardBypassesAdapter = Create(FloraDiagnosticIds.ForwardBypassesAdapter,
            "forward() on a FLoRA target skips its adapter",
            "'{0}.forward(x)' skips the adapter attached to '{0}' (TorchSharp runs its hook only in call(x)) and is not intercepted: {1}. Use '{0}.call(x)'.",
            Usage, DiagnosticSeverity.Warning);

        public static readonly DiagnosticDescriptor InvalidModuleToSave = Create(FloraDiagnosticIds.InvalidModuleToSave,
            "[FloraModuleToSave] is on a member Flora cannot save",
            "'{0}' {1}",
            Usage, DiagnosticSeverity.Error);

        private static DiagnosticDescriptor Create(string id, string title, string message, string category, DiagnosticSeverity severity) =>
            new(id, title, message, category, severity, isEnabledByDefault: true, helpLinkUri: HelpBase + id.ToLowerInvariant());
    }
}
