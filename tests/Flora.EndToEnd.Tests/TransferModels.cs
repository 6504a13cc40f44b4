using Flora;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch.nn;

namespace Flora.EndToEnd.Tests;

/// <summary>A strided projection as torchvision names it: <c>downsample.0</c> (the convolution) and <c>downsample.1</c> (its BatchNorm).</summary>
[FloraModel(SaveNormLayers = false)]
public sealed partial class Projection : Module<Tensor, Tensor>
{
    [ComponentName(Name = "0")] [FloraTarget] private readonly Conv2d conv;
    [ComponentName(Name = "1")] private readonly BatchNorm2d bn;

    public Projection(long inChannels, long outChannels) : base(nameof(Projection))
    {
        conv = Conv2d(inChannels, outChannels, 1, stride: 2, bias: false);
        bn = BatchNorm2d(outChannels);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => bn.call(conv.call(x));
}

/// <summary>A residual block with two adapted 3×3 convolutions and an optional projection.</summary>
[FloraModel(SaveNormLayers = false)]
public sealed partial class ResidualBlock : Module<Tensor, Tensor>
{
    [FloraTarget] private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    [FloraTarget] private readonly Conv2d conv2;
    private readonly BatchNorm2d bn2;
    private readonly Projection? downsample;

    public ResidualBlock(long inChannels, long outChannels, long stride) : base(nameof(ResidualBlock))
    {
        conv1 = Conv2d(inChannels, outChannels, 3, stride: stride, padding: 1, bias: false);
        bn1 = BatchNorm2d(outChannels);
        conv2 = Conv2d(outChannels, outChannels, 3, padding: 1, bias: false);
        bn2 = BatchNorm2d(outChannels);
        downsample = stride == 1 && inChannels == outChannels ? null : new Projection(inChannels, outChannels);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = functional.relu(bn1.call(conv1.call(x)));
        h = bn2.call(conv2.call(h));
        var identity = downsample is null ? x : downsample.call(x);
        return functional.relu(h.Plus(identity)).MoveToOuterDisposeScope();
    }
}

/// <summary>A small ResNet built of annotated blocks, with a new head saved whole and its BatchNorms saved by type.</summary>
[FloraModel(Rank = 4, R3 = 2, SaveNormLayers = true)]
public sealed partial class TinyResNet : Module<Tensor, Tensor>
{
    private readonly Conv2d conv1 = Conv2d(3, 8, 3, padding: 1, bias: false);
    private readonly BatchNorm2d bn1 = BatchNorm2d(8);
    private readonly ModuleList<ResidualBlock> layer1 = ModuleList(new ResidualBlock(8, 8, 1), new ResidualBlock(8, 16, 2));
    [FloraModuleToSave] private readonly Linear fc = Linear(16, 5);

    public TinyResNet() : base(nameof(TinyResNet)) => RegisterComponents();

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = functional.relu(bn1.call(conv1.call(x)));
        foreach (var block in layer1) h = block.call(h);
        return fc.call(h.mean(new long[] { 2, 3 })).MoveToOuterDisposeScope();
    }
}

/// <summary>A classifier with a new head marked to save and LoRA at a chosen rank.</summary>
[FloraModel(Rank = 4, R3 = 2, LoraRank = 3, LoraAlpha = 6)]
public sealed partial class HeadModel : Module<Tensor, Tensor>
{
    [FloraTarget] private readonly Conv2d conv = Conv2d(3, 8, 3, padding: 1);
    [FloraTarget(LoraRank = 2)] private readonly Conv2d conv2 = Conv2d(8, 8, 3, padding: 1);
    [FloraModuleToSave] private readonly Linear head = Linear(8, 4);

    public HeadModel() : base(nameof(HeadModel)) => RegisterComponents();

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return head.call(functional.relu(conv2.call(functional.relu(conv.call(x)))).mean(new long[] { 2, 3 })).MoveToOuterDisposeScope();
    }
}
