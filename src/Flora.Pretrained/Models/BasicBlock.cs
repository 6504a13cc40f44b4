using System;
using Flora;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Flora.Pretrained;

/// <summary>
/// ResNet's basic block, as torchvision names it: <c>relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))</c>, the shortcut
/// being <c>x</c> or, where the block changes the stride or the width, <see cref="Downsample"/> (<c>downsample.0</c>, <c>downsample.1</c>).
/// </summary>
[FloraModel(SaveNormLayers = false)]
public sealed partial class BasicBlock : Module<Tensor, Tensor>
{
    [FloraTarget] private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly ReLU relu;
    [FloraTarget] private readonly Conv2d conv2;
    private readonly BatchNorm2d bn2;
    private readonly Downsample? downsample;

    /// <summary>Creates a block from <paramref name="inChannels"/> to <paramref name="outChannels"/> whose first convolution has <paramref name="stride"/>.</summary>
    public BasicBlock(int inChannels, int outChannels, int stride) : base(nameof(BasicBlock))
    {
        if (inChannels < 1) throw new ArgumentOutOfRangeException(nameof(inChannels), inChannels, "must be at least 1");
        if (outChannels < 1) throw new ArgumentOutOfRangeException(nameof(outChannels), outChannels, "must be at least 1");
        if (stride < 1) throw new ArgumentOutOfRangeException(nameof(stride), stride, "must be at least 1");
        InChannels = inChannels;
        OutChannels = outChannels;
        Stride = stride;
        conv1 = Conv2d(inChannels, outChannels, 3, stride: stride, padding: 1, bias: false);
        bn1 = BatchNorm2d(outChannels);
        relu = ReLU();
        conv2 = Conv2d(outChannels, outChannels, 3, padding: 1, bias: false);
        bn2 = BatchNorm2d(outChannels);
        downsample = stride != 1 || inChannels != outChannels ? new Downsample(inChannels, outChannels, stride) : null;
        RegisterComponents();
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }

    /// <summary>Output channels.</summary>
    public int OutChannels { get; }

    /// <summary>Stride of <c>conv1</c> and of the projection.</summary>
    public int Stride { get; }

    /// <summary>The first 3×3 convolution.</summary>
    public Conv2d Conv1 => conv1;

    /// <summary>The BatchNorm after <c>conv1</c>.</summary>
    public BatchNorm2d Bn1 => bn1;

    /// <summary>The second 3×3 convolution.</summary>
    public Conv2d Conv2 => conv2;

    /// <summary>The BatchNorm after <c>conv2</c>.</summary>
    public BatchNorm2d Bn2 => bn2;

    /// <summary>The projection shortcut, or <see langword="null"/> for the identity.</summary>
    public Downsample? Projection => downsample;

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = FloraBatchNorm.Forward(bn2, conv2.call(relu.call(FloraBatchNorm.Forward(bn1, conv1.call(x)))));
        var shortcut = downsample is null ? x : downsample.call(x);
        // Flora.Scalars: TorchSharp's + makes a temporary alpha scalar the GC may free mid-call.
        return relu.call(h.Plus(shortcut)).MoveToOuterDisposeScope();
    }
}
