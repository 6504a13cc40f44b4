using TorchSharp.Modules;

namespace Flora.Tests.Injection;

/// <summary>
/// A small model with every kind of slot: readonly fields of sealed layer types, a depthwise convolution, a layer
/// inside a Sequential, one inside a ModuleList of Module&lt;Tensor, Tensor&gt;, a Linear head, and a BatchNorm that
/// is never a target.
/// </summary>
internal sealed class TinyNet : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv1 = nn.Conv2d(3, 8, 3, padding: 1);
    private readonly Conv2d dw = nn.Conv2d(8, 8, 7, padding: 3, groups: 8);
    private readonly BatchNorm2d bn = nn.BatchNorm2d(8);
    private readonly Sequential seq = nn.Sequential(("pw", nn.Conv2d(8, 8, 1)), ("act", nn.ReLU()));
    private readonly ModuleList<nn.Module<Tensor, Tensor>> blocks = nn.ModuleList<nn.Module<Tensor, Tensor>>(nn.Conv2d(8, 8, 3, padding: 1));
    private readonly Linear head = nn.Linear(8, 10);

    public TinyNet() : base(nameof(TinyNet)) => RegisterComponents();

    public Conv2d Conv1 => conv1;

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var h = conv1.call(x);
        h = dw.call(h);
        h = nn.functional.relu(bn.call(h));
        h = seq.call(h);
        foreach (var block in blocks) h = block.call(h);
        return head.call(h.mean(new long[] { 2, 3 })).MoveToOuterDisposeScope();
    }

    public static readonly string[] TargetNames = { "conv1", "dw", "seq.pw", "blocks.0", "head" };

    public static FloraConfig Config(FloraModelOptions? defaults = null) => new()
    {
        TargetModules = new[] { "conv1", "dw", "pw", @"blocks\.\d+", "head" },
        Defaults = defaults ?? new FloraModelOptions { Rank = 4, R3 = 2 },
    };
}
