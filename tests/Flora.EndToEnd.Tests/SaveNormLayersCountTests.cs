using Flora;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace Flora.EndToEnd.Tests;

/// <summary>
/// Every kind of norm layer <c>SaveNormLayers</c> trains, each with TorchSharp's defaults or literal overrides, beside
/// layers without child modules, an auto-property and a norm layer that is also a module to save.
/// conv Conv2d(3, 8, 3) at Rank 4, R3 2: ranks (4, 3, 2, 2): 48 + 8·4 + 3·3 + 3·2 + 3·2 = 101. head Linear(8, 4) at
/// Rank 2: 4 + 4·2 + 8·2 = 28. bn 16, gn 16, inorm 0 (not affine), inormAffine 16, ln 8 (no bias), Norm1d 0 (not
/// affine), headNorm 16 (a module to save, counted once). Total 201.
/// </summary>
[FloraModel(Rank = 4, R3 = 2, SaveNormLayers = true)]
public partial class NormZoo : Module<Tensor, Tensor>
{
    [FloraTarget] private readonly Conv2d conv = Conv2d(3, 8, 3, padding: 1);
    private readonly BatchNorm2d bn = BatchNorm2d(8);
    private readonly GroupNorm gn = GroupNorm(2, 8);
    private readonly InstanceNorm2d inorm = InstanceNorm2d(8);
    private readonly InstanceNorm2d inormAffine = InstanceNorm2d(8, affine: true, track_running_stats: true);
    private readonly Module<Tensor, Tensor> ln = LayerNorm(new long[] { 8 }, bias: false);
    private readonly ReLU relu = ReLU();
    private readonly AdaptiveAvgPool2d pool = AdaptiveAvgPool2d(1);
    [FloraModuleToSave] private readonly BatchNorm1d headNorm = BatchNorm1d(8);
    [FloraTarget(Rank = 2)] private readonly Linear head = Linear(8, 4);

    public NormZoo() : base(nameof(NormZoo)) => RegisterComponents();

    public BatchNorm1d Norm1d { get; } = BatchNorm1d(8, affine: false);

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = relu.call(inormAffine.call(inorm.call(gn.call(bn.call(conv.call(x))))));
        h = pool.call(h).flatten(1);
        h = Norm1d.call(headNorm.call(ln.call(h)));
        return head.call(h).MoveToOuterDisposeScope();
    }
}

/// <summary>Under <c>SaveNormLayers</c> the constant <c>FloraTrainableParameters</c> is what <c>AttachFlora()</c> trains.</summary>
public sealed class SaveNormLayersCountTests
{
    [Fact]
    public void The_constant_counts_every_norm_layer_the_attachment_trains()
    {
        Assert.Equal(201L, NormZoo.FloraTrainableParameters);
        using var model = new NormZoo();
        var adapters = model.AttachFlora();
        Assert.Equal(NormZoo.FloraTrainableParameters, adapters.TrainableParameters);
        Assert.Equal(7, adapters.Attachment.ModulesToSave.Count); // six norm layers found by type, and headNorm
        Assert.Equal(model.parameters().Where(p => p.requires_grad).Sum(p => p.numel()), adapters.TrainableParameters);

        using var x = torch.randn(4, 3, 6, 6);
        model.train();
        using var y = model.forward(x);
        Assert.Equal(new long[] { 4, 4 }, y.shape);
        model.DetachFlora();
    }

    [Fact]
    public void README_s_transfer_model_has_the_constant_its_attachment_trains()
    {
        // conv1 Conv2d(3, 64, 3) Rank 8 R3 2: ranks (8, 3, 2, 2): 96 + 512 + 9 + 6 + 6 = 629; conv2 Conv2d(64, 128, 3):
        // 256 + 1,024 + 512 + 12 = 1,804; head 128·10 + 10 = 1,290; bn1 128, bn2 256. Total 4,107.
        Assert.Equal(4_107L, Classifier.FloraTrainableParameters);
        using var model = new Classifier();
        Assert.Equal(Classifier.FloraTrainableParameters, model.AttachFlora().TrainableParameters);
        model.DetachFlora();
    }
}
