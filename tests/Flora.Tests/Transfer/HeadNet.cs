using TorchSharp.Modules;

namespace Flora.Tests.Transfer;

/// <summary>
/// A small transfer-learning model: a convolutional body with BatchNorm (the pretrained part) and a Linear head (the new
/// classifier). <see cref="Features"/> is the body alone, for comparisons that train the head on frozen features.
/// </summary>
internal sealed class HeadNet : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv1 = nn.Conv2d(3, 8, 3, padding: 1);
    private readonly BatchNorm2d bn1 = nn.BatchNorm2d(8);
    private readonly Conv2d conv2 = nn.Conv2d(8, 16, 3, stride: 2, padding: 1);
    private readonly BatchNorm2d bn2 = nn.BatchNorm2d(16);
    private readonly Linear head = nn.Linear(16, 5);

    public HeadNet(long seed) : base(nameof(HeadNet))
    {
        RegisterComponents();
        using var generator = new Generator((ulong)seed);
        using (torch.no_grad())
        {
            foreach (var (_, parameter) in named_parameters())
            {
                using var values = torch.randn(parameter.shape, generator: generator) * 0.3;
                parameter.copy_(values);
            }
        }
    }

    public Linear Head => head;

    public BatchNorm2d Bn1 => bn1;

    public Tensor Features(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var h = nn.functional.relu(bn1.call(conv1.call(x)));
        h = nn.functional.relu(bn2.call(conv2.call(h)));
        return h.mean(new long[] { 2, 3 }).MoveToOuterDisposeScope();
    }

    public override Tensor forward(Tensor x)
    {
        using var features = Features(x);
        return head.call(features);
    }

    /// <summary>Adapters on both convolutions; the head (and, with <paramref name="norms"/>, the BatchNorms) saved whole.</summary>
    public static FloraConfig Config(bool norms = false, FloraModelOptions? defaults = null) => new()
    {
        TargetModules = new[] { @"conv\d" },
        ModulesToSave = new[] { "head" },
        Defaults = (defaults ?? new FloraModelOptions { Rank = 4, R3 = 2 }) with { SaveNormLayers = norms },
    };
}
