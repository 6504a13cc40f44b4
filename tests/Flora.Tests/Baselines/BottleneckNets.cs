using TorchSharp.Modules;

namespace Flora.Tests.Baselines;

/// <summary>A ResNet BasicBlock: conv1, bn1, conv2, bn2 (registered in that order), a downsampling branch when the shape changes, a residual.</summary>
internal sealed class BasicBlock : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Conv2d conv2;
    private readonly BatchNorm2d bn2;
    private readonly Sequential? downsample;

    public BasicBlock(long inputs, long outputs, long stride = 1) : base(nameof(BasicBlock))
    {
        conv1 = nn.Conv2d(inputs, outputs, 3, stride: stride, padding: 1, bias: false);
        bn1 = nn.BatchNorm2d(outputs);
        conv2 = nn.Conv2d(outputs, outputs, 3, padding: 1, bias: false);
        bn2 = nn.BatchNorm2d(outputs);
        if (stride != 1 || inputs != outputs)
            downsample = nn.Sequential(("0", nn.Conv2d(inputs, outputs, 1, stride: stride, bias: false)), ("1", nn.BatchNorm2d(outputs)));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var h = nn.functional.relu(bn1.call(conv1.call(x)));
        h = bn2.call(conv2.call(h));
        var identity = downsample is null ? x : downsample.call(x);
        return nn.functional.relu(h + identity).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// A model with every layer kind a bottleneck adapter takes, each in its own block: a Conv3d (in a Sequential), a
/// ResNet BasicBlock of two Conv2d, a Conv1d (in a Sequential) and a Linear head on the model itself.
/// Input <c>[N, 2, 4, 4, 4]</c>.
/// </summary>
internal sealed class KindsNet : nn.Module<Tensor, Tensor>
{
    private readonly Sequential b3 = nn.Sequential(("conv", nn.Conv3d(2, 4, 3, padding: 1)));
    private readonly BasicBlock b2 = new(4, 4);
    private readonly Sequential b1 = nn.Sequential(("conv", nn.Conv1d(4, 6, 3, padding: 1)));
    private readonly Linear fc = nn.Linear(6, 5);

    public KindsNet() : base(nameof(KindsNet))
    {
        RegisterComponents();
        TestTensors.SeedLayers(this, seed: 7100); // the same weights every run, whatever other tests draw meanwhile
    }

    public static readonly string[] TargetNames = { "b3.conv", "b2.conv1", "b2.conv2", "b1.conv", "fc" };

    /// <summary>The targets Pfeiffer's placement keeps: the last of each parent (the BasicBlock's conv2).</summary>
    public static readonly string[] PfeifferNames = { "b3.conv", "b2.conv2", "b1.conv", "fc" };

    public static FloraConfig Config(FloraModelOptions? defaults = null) => new()
    {
        TargetModules = new[] { "conv", "conv1", "conv2", "fc" },
        Defaults = defaults ?? new FloraModelOptions { Rank = 3, R3 = 2 },
    };

    public static Tensor Input(long seed) => TestTensors.Randn(new long[] { 3, 2, 4, 4, 4 }, seed);

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var h = nn.functional.relu(b3.call(x)).mean(new long[] { -1 });
        h = b2.call(h).mean(new long[] { -1 });
        h = nn.functional.relu(b1.call(h)).mean(new long[] { -1 });
        return fc.call(h).MoveToOuterDisposeScope();
    }
}

/// <summary>Two ResNet blocks between a stem and a head: the second block downsamples (a 1×1 convolution in its own Sequential).</summary>
internal sealed class TwoBlockNet : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d stem = nn.Conv2d(3, 4, 3, padding: 1);
    private readonly BasicBlock layer1 = new(4, 4);
    private readonly BasicBlock layer2 = new(4, 8, stride: 2);
    private readonly Linear fc = nn.Linear(8, 10);

    public TwoBlockNet() : base(nameof(TwoBlockNet))
    {
        RegisterComponents();
        TestTensors.SeedLayers(this, seed: 7200);
    }

    public static FloraConfig Config(FloraModelOptions? defaults = null) => new()
    {
        TargetModules = new[] { "stem", "conv1", "conv2", "downsample.0", "fc" },
        Defaults = defaults ?? new FloraModelOptions { Rank = 4, R3 = 2 },
    };

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var h = nn.functional.relu(stem.call(x));
        h = layer2.call(layer1.call(h));
        return fc.call(h.mean(new long[] { 2, 3 })).MoveToOuterDisposeScope();
    }
}
