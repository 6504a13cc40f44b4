using System;
using System.Collections.Generic;
using Flora;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Flora.Pretrained;

/// <summary>
/// ResNet-18 as the ONNX model of <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c> defines it, with torchvision's layer
/// names (<c>conv1</c>, <c>bn1</c>, <c>layer1.0.conv1</c>, <c>layer2.0.downsample.0</c>, …, <c>fc</c>), so name patterns
/// and PEFT paths written for torchvision's <c>resnet18</c> carry over. The ONNX network has one basic block more than
/// torchvision's in the last stage: the stages hold 2, 2, 2 and 3 blocks (<c>layer4.2</c> exists).
/// Get it with ImageNet weights from <see cref="PretrainedModels.ResNet18(int)"/>; the constructor alone gives
/// PyTorch's default initialisation.
/// </summary>
/// <remarks>
/// Padding is torchvision's (symmetric). The original graph pads its stride-2 layers asymmetrically (begin 3 or 1,
/// end 2 or 0); the two agree exactly when every stride-2 layer sees an even size, that is for heights and widths
/// that are multiples of 32 (224 included). For other sizes the original graph has no defined output (its residual
/// additions would not broadcast), and this network computes what torchvision's would.
/// </remarks>
[FloraModel(Rank = 8, R3 = 2, Scale = 0.4, SaveNormLayers = false)]
public sealed partial class ResNet18 : Module<Tensor, Tensor>
{
    /// <summary>Basic blocks per stage, as the ONNX graph has them (torchvision's resnet18 has 2, 2, 2, 2).</summary>
    public static readonly int[] BlocksPerStage = { 2, 2, 2, 3 };

    /// <summary>Output channels of the four stages.</summary>
    public static readonly int[] StageChannels = { 64, 128, 256, 512 };

    /// <summary>Width of the pooled features that <see cref="Features"/> returns and <c>fc</c> reads.</summary>
    public const int FeatureCount = 512;

    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly ReLU relu;
    private readonly MaxPool2d maxpool;
    private readonly ModuleList<BasicBlock> layer1;
    private readonly ModuleList<BasicBlock> layer2;
    private readonly ModuleList<BasicBlock> layer3;
    private readonly ModuleList<BasicBlock> layer4;
    private readonly AdaptiveAvgPool2d avgpool;
    [FloraModuleToSave] private readonly Linear fc;

    /// <summary>Creates the network with <paramref name="numClasses"/> outputs, every layer at PyTorch's default initialisation.</summary>
    public ResNet18(int numClasses = 1000) : base(nameof(ResNet18))
    {
        if (numClasses < 1) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "the number of classes must be at least 1");
        NumClasses = numClasses;
        conv1 = Conv2d(3, 64, 7, stride: 2, padding: 3, bias: false);
        bn1 = BatchNorm2d(64);
        relu = ReLU();
        maxpool = MaxPool2d(3, stride: 2, padding: 1);
        layer1 = Stage(64, StageChannels[0], BlocksPerStage[0], stride: 1);
        layer2 = Stage(StageChannels[0], StageChannels[1], BlocksPerStage[1], stride: 2);
        layer3 = Stage(StageChannels[1], StageChannels[2], BlocksPerStage[2], stride: 2);
        layer4 = Stage(StageChannels[2], StageChannels[3], BlocksPerStage[3], stride: 2);
        avgpool = AdaptiveAvgPool2d(1);
        fc = Linear(FeatureCount, numClasses);
        RegisterComponents();
    }

    /// <summary>Outputs of <c>fc</c>.</summary>
    public int NumClasses { get; }

    /// <summary>The stem convolution (3→64, 7×7, stride 2).</summary>
    public Conv2d Conv1 => conv1;

    /// <summary>The stem's BatchNorm.</summary>
    public BatchNorm2d Bn1 => bn1;

    /// <summary>The four stages, <c>layer1</c> … <c>layer4</c>.</summary>
    public IReadOnlyList<ModuleList<BasicBlock>> Stages => new[] { layer1, layer2, layer3, layer4 };

    /// <summary>The classifier (512 → <see cref="NumClasses"/>), freshly initialised by <see cref="PretrainedModels.ResNet18(int)"/>.</summary>
    public Linear Fc => fc;

    /// <summary>Everything before <c>fc</c>: the globally average-pooled 512 features, <c>[N, 512]</c>.</summary>
    public Tensor Features(Tensor images)
    {
        using var scope = NewDisposeScope();
        var x = maxpool.call(relu.call(FloraBatchNorm.Forward(bn1, conv1.call(images))));
        x = RunStage(layer1, x);
        x = RunStage(layer2, x);
        x = RunStage(layer3, x);
        x = RunStage(layer4, x);
        return avgpool.call(x).flatten(1).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        return fc.call(Features(images)).MoveToOuterDisposeScope();
    }

    private static Tensor RunStage(ModuleList<BasicBlock> stage, Tensor x)
    {
        foreach (var block in stage)
            x = block.call(x);
        return x;
    }

    private static ModuleList<BasicBlock> Stage(int inChannels, int outChannels, int blocks, int stride)
    {
        var list = new BasicBlock[blocks];
        list[0] = new BasicBlock(inChannels, outChannels, stride);
        for (int i = 1; i < blocks; i++)
            list[i] = new BasicBlock(outChannels, outChannels, 1);
        return ModuleList(list);
    }
}
