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
        public const string UnsavedNormLayer = "FLORA012";
        public const string ConstantCountLeftOut = "FLORA013";
        public const string AdaLoraTargetAboveInit = "FLORA014";
        public const string UnusableAdapterName = "FLORA015";
    }

    /// <summary>
    /// The one table of Flora's diagnostics: ids, titles, messages, categories, severities and descriptions. No help link:
    /// every message names its fix, and docs/DIAGNOSTICS.md (in the repository, and in the Flora package under docs/) is
    /// the reference each description points to.
    /// </summary>
    internal static class DiagnosticDescriptors
    {
        private const string Usage = "Flora.Usage";
        private const string Budget = "Flora.Budget";

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

        /// <summary>What FLORA002's message adds for AdapterSize, whose 0 means unset.</summary>
        public const string AdapterSizeAdvice = "A bottleneck adapter is at least 1 wide; leave AdapterSize unset (0) to match FLoRA's budget.";

        /// <summary>What FLORA002's message adds for AdaLoraTargetRank, whose 0 means unset.</summary>
        public const string AdaLoraTargetRankAdvice = "An AdaLoRA rank must be at least 1; leave AdaLoraTargetRank unset (0) to match FLoRA's budget.";

        /// <summary>What FLORA002's message adds for AdaLoraInitRank, whose 0 means unset.</summary>
        public const string AdaLoraInitRankAdvice = "An AdaLoRA rank must be at least 1; leave AdaLoraInitRank unset (0) to start at 1.5× the target rank.";

        /// <summary>What FLORA007's message adds for Scale.</summary>
        public const string ScaleAdvice = "Use a positive scale such as the paper's 0.4.";

        /// <summary>What FLORA007's message adds for LoraAlpha, whose 0 means unset.</summary>
        public const string LoraAlphaAdvice = "Use a positive α (the update is scaled by α/r), or leave LoraAlpha unset (0) for α = r.";

        public static readonly DiagnosticDescriptor NotPartial = Create(FloraDiagnosticIds.NotPartial,
            "A Flora model and its containing types must be partial",
            "'{0}' must be partial: {1}",
            Usage, DiagnosticSeverity.Error,
            "The generator adds AttachFlora() and the other adapter members to a Flora model, so the model and every type that contains it must be declared partial. Fix: add partial.");

        public static readonly DiagnosticDescriptor RankBelowOne = Create(FloraDiagnosticIds.RankBelowOne,
            "A rank or adapter size must be at least 1",
            "{0} {1} of '{2}' is less than 1. {3}",
            Usage, DiagnosticSeverity.Error,
            "Rank, InRank, OutRank and R3 are sizes of the FLoRA core tensor and must be at least 1; LoraRank, AdapterSize (the bottleneck width of Houlsby "
            + "and Pfeiffer adapters), AdaLoraTargetRank and AdaLoraInitRank must not be negative (0 means unset). Fix: a rank of at least 1, or leave the "
            + "argument out to inherit it (LoraRank, AdapterSize and the AdaLoRA ranks: to match FLoRA's budget).");

        public static readonly DiagnosticDescriptor RankExceedsMode = Create(FloraDiagnosticIds.RankExceedsMode,
            "A rank exceeds the dimension it factorises and is clamped",
            "{0} {1} of '{2}' exceeds {3}; it is clamped to {4}. {5}",
            Usage, DiagnosticSeverity.Warning,
            "A rank set on a target that exceeds the dimension it factorises is clamped to it, at run time and in the counts; so is a LoraRank above the weight's full rank. Fix: set the rank the layer can take, or state the clamp with OutRank/InRank.");

        public static readonly DiagnosticDescriptor R3ExceedsKernel = Create(FloraDiagnosticIds.R3ExceedsKernel,
            "R3 exceeds a kernel axis",
            "R3 {0} of '{1}' exceeds kernel axis {2} of size {3}. Use R3 ≤ {4}, or leave R3 unset to inherit it.",
            Usage, DiagnosticSeverity.Error,
            "R3 set on a convolution target must not exceed its smallest kernel axis. Fix: set R3 to the smallest kernel axis, or leave it unset to inherit the model's, which clamps silently.");

        public static readonly DiagnosticDescriptor R3OnLinear = Create(FloraDiagnosticIds.R3OnLinear,
            "R3 has no effect on a layer without kernel axes (Linear, Embedding, MultiheadAttention)",
            "R3 is set on '{0}', {1} layer without kernel axes; it has no effect. Remove it.",
            Usage, DiagnosticSeverity.Warning,
            "A Linear or Embedding weight, and a MultiheadAttention's projections, have no kernel axes, so R3 on such a target changes nothing. Fix: remove R3.");

        public static readonly DiagnosticDescriptor UnsupportedTarget = Create(FloraDiagnosticIds.UnsupportedTarget,
            "[FloraTarget] is on a member FLoRA cannot adapt",
            "'{0}' {1}. FLoRA adapts instance fields and properties of type " + FloraLayerKinds.DescribeTypes() + ".",
            Usage, DiagnosticSeverity.Error,
            "[FloraTarget] goes on instance fields and properties holding a " + FloraLayerKinds.DescribeTypes() + " whose layer type is visible at compile time. Fix: put it on those layers, declare the member with its layer type, or remove it.");

        public static readonly DiagnosticDescriptor InvalidScale = Create(FloraDiagnosticIds.InvalidScale,
            "Scale and LoraAlpha must be finite numbers greater than 0",
            "{0} {1} of '{2}' is not a finite number greater than 0. {3}",
            Usage, DiagnosticSeverity.Error,
            "Scale is the constant s of the update and must be finite and greater than 0; so must LoraAlpha when it is set (0 means unset). Fix: a positive value such as Scale = 0.4, or remove LoraAlpha.");

        public static readonly DiagnosticDescriptor OverBudget = Create(FloraDiagnosticIds.OverBudget,
            "The trainable parameters exceed MaxTrainableParameters",
            "'{0}' trains {1} parameters, over its budget of {2} (MaxTrainableParameters). Largest: {3}. Lower their ranks or raise the budget.",
            Budget, DiagnosticSeverity.Error,
            "The compile-time count of trainable parameters (FloraTrainableParameters) exceeds [FloraModel(MaxTrainableParameters = ...)]. Fix: lower the ranks of the largest targets, adapt or save fewer modules, or raise the budget.");

        public static readonly DiagnosticDescriptor NotAModule = Create(FloraDiagnosticIds.NotAModule,
            "A Flora model must be a TorchSharp module",
            "'{0}' has Flora attributes but is not a TorchSharp Module; derive it from Module<Tensor, Tensor> (or another torch.nn.Module).",
            Usage, DiagnosticSeverity.Error,
            "The generated members inject adapters into TorchSharp modules, so a type with Flora attributes must derive from torch.nn.Module. Fix: derive it from Module<Tensor, Tensor>, or move the attributes to the module that holds the layers.");

        public static readonly DiagnosticDescriptor ForwardBypassesAdapter = Create(FloraDiagnosticIds.ForwardBypassesAdapter,
            "forward() on a FLoRA target skips its adapter",
            "'{0}.forward(x)' skips the adapter attached to '{0}' (TorchSharp runs its hook only in call(x)) and is not intercepted: {1}. Use '{0}.call(x)'.",
            Usage, DiagnosticSeverity.Warning,
            "TorchSharp runs forward hooks only in call(x), so forward(x) on a hook-bound target that the generator cannot intercept returns the base layer's output without the adapter. Fix: call(x).");

        public static readonly DiagnosticDescriptor InvalidModuleToSave = Create(FloraDiagnosticIds.InvalidModuleToSave,
            "[FloraModuleToSave] is on a member Flora cannot save",
            "'{0}' {1}",
            Usage, DiagnosticSeverity.Error,
            "[FloraModuleToSave] goes on an instance field, or a property with a getter, that holds a TorchSharp module and is not also a [FloraTarget]. Fix: remove the attribute, or move it to such a member.");

        public static readonly DiagnosticDescriptor UnsavedNormLayer = Create(FloraDiagnosticIds.UnsavedNormLayer,
            "A norm layer with running statistics needs SaveNormLayers set on [FloraModel]",
            "'{0}' ({1}) keeps running statistics: while adapters are attached it runs in eval mode, its base (e.g. ImageNet) statistics frozen. Set SaveNormLayers = true on [FloraModel] to train and save it, or SaveNormLayers = false to keep it frozen and silence this.",
            Usage, DiagnosticSeverity.Warning,
            "While adapters are attached, Flora keeps the norm layers it does not save in eval mode, so their running statistics stay frozen like the rest of "
            + "the base model and save, load, merge and detach reproduce the model exactly. [FloraModel(SaveNormLayers = true)] trains them instead (affine "
            + "parameters and running statistics) and saves them with the adapter. A model with a BatchNorm (or an InstanceNorm with track_running_stats: true) "
            + "should say which it wants. Fix: add SaveNormLayers = true or SaveNormLayers = false to [FloraModel].");

        public static readonly DiagnosticDescriptor ConstantCountLeftOut = Create(FloraDiagnosticIds.ConstantCountLeftOut,
            "FloraTrainableParameters is left out: SaveNormLayers needs every module of the model known at compile time",
            "'{0}' gets no FloraTrainableParameters: {1}. SaveNormLayers trains every norm layer of the module tree, so the constant needs every member known at compile time; read TrainableParameters after AttachFlora() instead.",
            Budget, DiagnosticSeverity.Info,
            "With [FloraModel(SaveNormLayers = true)] the generator emits the constant FloraTrainableParameters only when it can count every trainable parameter: "
            + "the targets and modules to save from their literal shapes, and every norm layer of the module tree. A member it cannot see into (a Sequential, a module "
            + "of your own, a nested Flora model, a base class) or a norm layer or target of run-time size leaves the constant out. Fix: create those layers from "
            + "constant arguments as members of the model itself, or read TrainableParameters after AttachFlora().");

        public static readonly DiagnosticDescriptor AdaLoraTargetAboveInit = Create(FloraDiagnosticIds.AdaLoraTargetAboveInit,
            "AdaLoraTargetRank exceeds AdaLoraInitRank",
            "AdaLoraTargetRank {0} of '{1}' exceeds AdaLoraInitRank {2}: AdaLoRA only removes ranks. Use AdaLoraInitRank ≥ {0}, or a lower AdaLoraTargetRank.",
            Usage, DiagnosticSeverity.Error,
            "AdaLoRA starts every target at AdaLoraInitRank and prunes its ranks towards AdaLoraTargetRank on average; it never adds any, so a target rank "
            + "above the initial one cannot be reached, and AttachFlora(FloraMethod.AdaLora) refuses it. Fix: set AdaLoraInitRank to at least the target "
            + "rank, or lower AdaLoraTargetRank.");

        /// <summary>The diagnostic property with a usable adapter name to put in place of the constant (FLORA015's fix).</summary>
        public const string UsableName = "UsableName";

        public static readonly DiagnosticDescriptor UnusableAdapterName = Create(FloraDiagnosticIds.UnusableAdapterName,
            "A constant adapter name that no adapter can ever have",
            "\"{0}\" passed to {1} can never name an adapter: {2}; the call always throws. Use a usable name, e.g. \"{3}\".",
            Usage, DiagnosticSeverity.Error,
            "An adapter name must be non-empty ASCII letters, digits, '_', '-' and '.', neither \".\" nor \"..\" (it becomes a folder in PEFT "
            + "directories), and not \"__base__\" (PEFT's name for the base model in a mixed batch). FloraAttachment refuses any other name when an "
            + "adapter is added or loaded (AddAdapter, LoadAdapter, AddWeightedAdapter, AddFloraAdapter, LoadFlora(path, adapterName)), so no adapter "
            + "can have one, and naming an existing adapter with it (SetAdapter, SetAdapters, DeleteAdapter, Save(path, adapterName), SetFloraAdapter, "
            + "SaveFlora(path, adapterName), AddWeightedAdapter's adapters) always throws too. Fix: replace the name by a usable one.");

        /// <summary>
        /// A descriptor whose description ends with where the rule is documented. The help link stays empty: a link that may
        /// not resolve is worse than none, and the message itself names the fix.
        /// </summary>
        private static DiagnosticDescriptor Create(string id, string title, string message, string category, DiagnosticSeverity severity, string description) =>
            new(id, title, message, category, severity, isEnabledByDefault: true,
                description: description + " See " + id + " in docs/DIAGNOSTICS.md (in the Flora package and the repository).", helpLinkUri: "");
    }
}
