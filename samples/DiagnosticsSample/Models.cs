using Flora;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace DiagnosticsSample;

/// <summary>FLORA001: not partial, so the generator cannot add AttachFlora() and the rest.</summary>
[FloraModel]
public class NotPartialModel : Module<Tensor, Tensor>
{
    [FloraTarget] private readonly Linear fc = Linear(16, 10);
    public NotPartialModel() : base(nameof(NotPartialModel)) => RegisterComponents();
    public override Tensor forward(Tensor x) => fc.call(x);
}

/// <summary>FLORA002: a rank below 1.</summary>
[FloraModel]
public partial class ZeroRankModel : Module<Tensor, Tensor>
{
    [FloraTarget(Rank = 0)] private readonly Linear fc = Linear(16, 10);
    public ZeroRankModel() : base(nameof(ZeroRankModel)) => RegisterComponents();
    public override Tensor forward(Tensor x) => fc.call(x);
}

/// <summary>FLORA003 (warning): Rank 64 exceeds both modes of a 16 → 10 Linear and is clamped.</summary>
[FloraModel]
public partial class ClampedRankModel : Module<Tensor, Tensor>
{
    [FloraTarget(Rank = 64)] private readonly Linear head = Linear(16, 10);
    public ClampedRankModel() : base(nameof(ClampedRankModel)) => RegisterComponents();
    public override Tensor forward(Tensor x) => head.call(x);
}

/// <summary>FLORA004: R3 4 on a 3×3 kernel.</summary>
[FloraModel]
public partial class KernelRankModel : Module<Tensor, Tensor>
{
    [FloraTarget(Rank = 2, R3 = 4)] private readonly Conv2d conv = Conv2d(3, 8, 3);
    public KernelRankModel() : base(nameof(KernelRankModel)) => RegisterComponents();
    public override Tensor forward(Tensor x) => conv.call(x);
}

/// <summary>FLORA005 (warning): R3 on a Linear layer has no effect.</summary>
[FloraModel]
public partial class LinearR3Model : Module<Tensor, Tensor>
{
    [FloraTarget(Rank = 4, R3 = 2)] private readonly Linear fc = Linear(16, 10);
    public LinearR3Model() : base(nameof(LinearR3Model)) => RegisterComponents();
    public override Tensor forward(Tensor x) => fc.call(x);
}

/// <summary>FLORA006: a BatchNorm2d is not a layer FLoRA adapts.</summary>
[FloraModel]
public partial class UnsupportedLayerModel : Module<Tensor, Tensor>
{
    [FloraTarget] private readonly BatchNorm2d bn = BatchNorm2d(8);
    [FloraTarget] private readonly Conv2d conv = Conv2d(3, 8, 3);
    public UnsupportedLayerModel() : base(nameof(UnsupportedLayerModel)) => RegisterComponents();
    public override Tensor forward(Tensor x) => bn.call(conv.call(x));
}

/// <summary>FLORA007: a scale of 0 switches the adapter off.</summary>
[FloraModel]
public partial class ZeroScaleModel : Module<Tensor, Tensor>
{
    [FloraTarget(Scale = 0)] private readonly Linear fc = Linear(16, 10);
    public ZeroScaleModel() : base(nameof(ZeroScaleModel)) => RegisterComponents();
    public override Tensor forward(Tensor x) => fc.call(x);
}

/// <summary>FLORA008: 8·8 + 64·8 + 64·8 = 1,088 trainable parameters over a budget of 1,000.</summary>
[FloraModel(MaxTrainableParameters = 1_000)]
public partial class OverBudgetModel : Module<Tensor, Tensor>
{
    [FloraTarget] private readonly Linear fc = Linear(64, 64);
    public OverBudgetModel() : base(nameof(OverBudgetModel)) => RegisterComponents();
    public override Tensor forward(Tensor x) => fc.call(x);
}

/// <summary>FLORA009: Flora attributes on a class that is not a TorchSharp Module.</summary>
[FloraModel(Rank = 4)]
public partial class NotAModule
{
    public int Width { get; set; }
}

/// <summary>FLORA011: a layer cannot be both a FLoRA target (adapter trains) and a module to save (trains fully).</summary>
[FloraModel]
public partial class TargetAndSavedModel : Module<Tensor, Tensor>
{
    [FloraTarget, FloraModuleToSave] private readonly Linear head = Linear(16, 10);
    public TargetAndSavedModel() : base(nameof(TargetAndSavedModel)) => RegisterComponents();
    public override Tensor forward(Tensor x) => head.call(x);
}

/// <summary>FLORA012: a BatchNorm keeps running statistics, and [FloraModel] does not say whether SaveNormLayers trains it.</summary>
[FloraModel(Rank = 4)]
public partial class UndecidedNormModel : Module<Tensor, Tensor>
{
    [FloraTarget] private readonly Conv2d conv = Conv2d(3, 8, 3, padding: 1);
    private readonly BatchNorm2d bn = BatchNorm2d(8);
    public UndecidedNormModel() : base(nameof(UndecidedNormModel)) => RegisterComponents();
    public override Tensor forward(Tensor x) => bn.call(conv.call(x));
}

/// <summary>FLORA013 (info): under SaveNormLayers a Sequential hides its norm layers, so FloraTrainableParameters is left out.</summary>
[FloraModel(Rank = 4, SaveNormLayers = true)]
public partial class HiddenNormModel : Module<Tensor, Tensor>
{
    [FloraTarget] private readonly Linear fc = Linear(16, 16);
    private readonly Sequential body = Sequential(Linear(16, 16), BatchNorm1d(16));
    public HiddenNormModel() : base(nameof(HiddenNormModel)) => RegisterComponents();
    public override Tensor forward(Tensor x) => body.call(fc.call(x));
}

/// <summary>FLORA014: AdaLoRA only removes ranks, so its target rank cannot exceed its initial rank.</summary>
[FloraModel(Rank = 4, AdaLoraTargetRank = 16, AdaLoraInitRank = 12)]
public partial class InvertedAdaLoraModel : Module<Tensor, Tensor>
{
    [FloraTarget] private readonly Conv2d conv = Conv2d(32, 64, 3, padding: 1);
    public InvertedAdaLoraModel() : base(nameof(InvertedAdaLoraModel)) => RegisterComponents();
    public override Tensor forward(Tensor x) => conv.call(x);
}

/// <summary>FLORA015: an adapter name becomes a folder in PEFT directories, so a space is refused.</summary>
public static class UnusableAdapterName
{
    public static void AddTaskB(FloraAttachment attachment) => attachment.AddAdapter("task b", FloraMethod.Lora);
}
