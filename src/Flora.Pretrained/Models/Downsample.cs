using System;
using Flora;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Flora.Pretrained;

/// <summary>
/// The projection shortcut of a <see cref="BasicBlock"/>: a 1×1 convolution with the block's stride and a BatchNorm,
/// registered as <c>0</c> and <c>1</c> so their paths are torchvision's <c>downsample.0</c> and <c>downsample.1</c>.
/// </summary>
[FloraModel(SaveNormLayers = false)]
public sealed partial class Downsample : Module<Tensor, Tensor>
{
    [ComponentName(Name = "0")] [FloraTarget] private readonly Conv2d conv;
    [ComponentName(Name = "1")] private readonly BatchNorm2d bn;

    /// <summary>Creates the projection from <paramref name="inChannels"/> to <paramref name="outChannels"/> with <paramref name="stride"/>.</summary>
    public Downsample(int inChannels, int outChannels, int stride) : base(nameof(Downsample))
    {
        if (inChannels < 1) throw new ArgumentOutOfRangeException(nameof(inChannels), inChannels, "must be at least 1");
        if (outChannels < 1) throw new ArgumentOutOfRangeException(nameof(outChannels), outChannels, "must be at least 1");
        if (stride < 1) throw new ArgumentOutOfRangeException(nameof(stride), stride, "must be at least 1");
        conv = Conv2d(inChannels, outChannels, 1, stride: stride, bias: false);
        bn = BatchNorm2d(outChannels);
        RegisterComponents();
    }

    /// <summary>The 1×1 convolution (<c>downsample.0</c>).</summary>
    public Conv2d Conv => conv;

    /// <summary>The BatchNorm (<c>downsample.1</c>).</summary>
    public BatchNorm2d Bn => bn;

    /// <inheritdoc />
    public override Tensor forward(Tensor x) => FloraBatchNorm.Forward(bn, conv.call(x));
}
