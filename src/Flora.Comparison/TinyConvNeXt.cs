using System;
using Flora;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Flora.Comparison;

/// <summary>
/// A small ConvNeXt-style network for 28×28 images: a 2×2 stride-2 patchify stem, two stages of two blocks
/// (7×7 depthwise convolution, LayerNorm, pointwise Linear C→4C, GELU, pointwise Linear 4C→C, residual) with a
/// LayerNorm + 2×2 stride-2 downsampling convolution between them, global average pooling, LayerNorm and a Linear head.
/// Every convolution and Linear is a FLoRA target, so the main job goes through the generator like a user's model.
/// The width is a constructor argument (bigger on a GPU), so the trainable count is known at run time only.
/// </summary>
[FloraModel(Rank = 4, R3 = 1, Scale = 0.4)]
public sealed partial class TinyConvNeXt : Module<Tensor, Tensor>
{
    [FloraTarget] private readonly Conv2d stem;
    private readonly LayerNorm stemNorm;

    [FloraTarget] private readonly Conv2d block1Dw;
    private readonly LayerNorm block1Norm;
    [FloraTarget] private readonly Linear block1Pw1;
    [FloraTarget] private readonly Linear block1Pw2;

    [FloraTarget] private readonly Conv2d block2Dw;
    private readonly LayerNorm block2Norm;
    [FloraTarget] private readonly Linear block2Pw1;
    [FloraTarget] private readonly Linear block2Pw2;

    private readonly LayerNorm downNorm;
    [FloraTarget] private readonly Conv2d down;

    [FloraTarget] private readonly Conv2d block3Dw;
    private readonly LayerNorm block3Norm;
    [FloraTarget] private readonly Linear block3Pw1;
    [FloraTarget] private readonly Linear block3Pw2;

    [FloraTarget] private readonly Conv2d block4Dw;
    private readonly LayerNorm block4Norm;
    [FloraTarget] private readonly Linear block4Pw1;
    [FloraTarget] private readonly Linear block4Pw2;

    private readonly LayerNorm headNorm;
    [FloraTarget] private readonly Linear head;

    /// <summary>Creates the network with <paramref name="width"/> channels in stage 1 and twice that in stage 2.</summary>
    public TinyConvNeXt(int width = 32, int classes = 10) : base(nameof(TinyConvNeXt))
    {
        if (width < 1) throw new ArgumentOutOfRangeException(nameof(width), width, "the width must be at least 1");
        Width = width;
        int wide = 2 * width;
        stem = Conv2d(1, width, 2, stride: 2);
        stemNorm = LayerNorm(width);
        (block1Dw, block1Norm, block1Pw1, block1Pw2) = Block(width);
        (block2Dw, block2Norm, block2Pw1, block2Pw2) = Block(width);
        downNorm = LayerNorm(width);
        down = Conv2d(width, wide, 2, stride: 2);
        (block3Dw, block3Norm, block3Pw1, block3Pw2) = Block(wide);
        (block4Dw, block4Norm, block4Pw1, block4Pw2) = Block(wide);
        headNorm = LayerNorm(wide);
        head = Linear(wide, classes);
        RegisterComponents();
    }

    /// <summary>Channels of stage 1.</summary>
    public int Width { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        var x = ChannelsNorm(stemNorm, stem.call(images));                 // [N, C, 14, 14]
        x = ConvNeXtBlock(x, block1Dw, block1Norm, block1Pw1, block1Pw2);
        x = ConvNeXtBlock(x, block2Dw, block2Norm, block2Pw1, block2Pw2);
        x = down.call(ChannelsNorm(downNorm, x));                          // [N, 2C, 7, 7]
        x = ConvNeXtBlock(x, block3Dw, block3Norm, block3Pw1, block3Pw2);
        x = ConvNeXtBlock(x, block4Dw, block4Norm, block4Pw1, block4Pw2);
        var pooled = headNorm.call(x.mean(new long[] { 2, 3 }));          // [N, 2C]
        return head.call(pooled).MoveToOuterDisposeScope();
    }

    private static (Conv2d Dw, LayerNorm Norm, Linear Pw1, Linear Pw2) Block(int channels) =>
        (Conv2d(channels, channels, 7, padding: 3, groups: channels), LayerNorm(channels), Linear(channels, 4 * channels), Linear(4 * channels, channels));

    /// <summary>x + pw2(GELU(pw1(LayerNorm(dw(x))))), the pointwise layers applied channels-last.</summary>
    private static Tensor ConvNeXtBlock(Tensor x, Conv2d dw, LayerNorm norm, Linear pw1, Linear pw2)
    {
        var h = dw.call(x).permute(0, 2, 3, 1);
        h = pw2.call(functional.gelu(pw1.call(norm.call(h))));
        return x.Plus(h.permute(0, 3, 1, 2)); // Flora.Scalars: TorchSharp's + makes a temporary scalar the GC may free mid-call
    }

    /// <summary>LayerNorm over the channels of an NCHW tensor.</summary>
    private static Tensor ChannelsNorm(LayerNorm norm, Tensor x) => norm.call(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2);
}
