using TorchSharp.Modules;

namespace Flora.Tests.Baselines;

/// <summary>
/// A small ConvNeXt-style network: a 4×4 stride-4 stem, one block (7×7 depthwise convolution, LayerNorm, two pointwise
/// Linears with GELU, residual), a 2×2 stride-2 downsampling convolution and a Linear head; fields typed Conv2d/Linear.
/// </summary>
internal sealed class MiniConvNext : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d stem = nn.Conv2d(3, 16, 4, stride: 4);
    private readonly Conv2d dw = nn.Conv2d(16, 16, 7, padding: 3, groups: 16);
    private readonly LayerNorm norm = nn.LayerNorm(16);
    private readonly Linear pw1 = nn.Linear(16, 64);
    private readonly Linear pw2 = nn.Linear(64, 16);
    private readonly Conv2d down = nn.Conv2d(16, 32, 2, stride: 2);
    private readonly Linear head = nn.Linear(32, 10);

    public MiniConvNext() : base(nameof(MiniConvNext)) => RegisterComponents();

    public static readonly string[] TargetNames = { "stem", "dw", "pw1", "pw2", "down", "head" };

    public static FloraConfig Config() => new()
    {
        TargetModules = TargetNames,
        Defaults = new FloraModelOptions { Rank = 4, R3 = 2 },
    };

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var h = stem.call(x);
        var block = dw.call(h).permute(0, 2, 3, 1);
        block = pw2.call(nn.functional.gelu(pw1.call(norm.call(block))));
        h = h + block.permute(0, 3, 1, 2);
        h = down.call(h);
        return head.call(h.mean(new long[] { 2, 3 })).MoveToOuterDisposeScope();
    }
}
