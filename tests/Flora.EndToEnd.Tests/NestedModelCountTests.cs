using Flora;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace Flora.EndToEnd.Tests;

/// <summary>
/// A block of its own [FloraModel], nested twice in <see cref="TwoBlockNet"/>: its settings give way to the outer model's
/// when nested (the attachment applies the root's), its module to save is a norm layer too (saved once).
/// </summary>
[FloraModel(Rank = 4, SaveNormLayers = false)]
public partial class NormedBlock : Module<Tensor, Tensor>
{
    [FloraTarget] private readonly Linear fc = Linear(8, 8);
    private readonly BatchNorm1d bn = BatchNorm1d(8);
    [FloraModuleToSave] private readonly LayerNorm ln = LayerNorm(8);

    public NormedBlock() : base(nameof(NormedBlock)) => RegisterComponents();

    public override Tensor forward(Tensor x) => ln.call(bn.call(fc.call(x)));
}

/// <summary>
/// Two nested blocks, a norm layer of its own and a head, all counted at compile time. At the outer Rank 2: each block's
/// fc Linear(8, 8) 2·2 + 8·2 + 8·2 = 36, bn 16, ln 16: 68, twice 136; norm BatchNorm1d(8) 16; head Linear(8, 3)
/// 2·2 + 3·2 + 8·2 = 26. Total 178. MaxTrainableParameters at exactly that: FLORA008 (an error) fails this project's
/// build if the analyzer counts more than the generator.
/// </summary>
[FloraModel(Rank = 2, SaveNormLayers = true, MaxTrainableParameters = 178)]
public partial class TwoBlockNet : Module<Tensor, Tensor>
{
    private readonly NormedBlock block1 = new NormedBlock();
    private readonly NormedBlock block2 = new();
    private readonly BatchNorm1d norm = BatchNorm1d(8);
    [FloraTarget] private readonly Linear head = Linear(8, 3);

    public TwoBlockNet() : base(nameof(TwoBlockNet)) => RegisterComponents();

    public override Tensor forward(Tensor x) => head.call(norm.call(block2.call(block1.call(x))));
}

/// <summary>A model's compile-time count adds up the models nested in it, as the attachment trains them.</summary>
public sealed class NestedModelCountTests
{
    [Fact]
    public void The_constant_of_a_model_with_nested_models_is_what_AttachFlora_trains()
    {
        Assert.Equal(178L, TwoBlockNet.FloraTrainableParameters);
        using var model = new TwoBlockNet();
        var adapters = model.AttachFlora();
        Assert.Equal(TwoBlockNet.FloraTrainableParameters, adapters.TrainableParameters);
        Assert.Equal(model.parameters().Where(p => p.requires_grad).Sum(p => p.numel()), adapters.TrainableParameters);
        Assert.Equal(3, adapters.All.Count); // block1.fc, block2.fc, head
        model.DetachFlora();
    }

    [Fact]
    public void The_Houlsby_and_AdaLoRA_constants_are_what_those_methods_train()
    {
        using var model = new TwoBlockNet();
        var houlsby = model.AttachFlora(FloraMethod.Houlsby);
        Assert.Equal(TwoBlockNet.HoulsbyTrainableParameters, houlsby.TrainableParameters);
        model.DetachFlora();
        var adaLora = model.AttachFlora(FloraMethod.AdaLora);
        Assert.Equal(TwoBlockNet.AdaLoraTrainableParameters, adaLora.TrainableParameters);
        model.DetachFlora();
    }

    [Fact]
    public void A_nested_block_on_its_own_counts_with_its_own_settings()
    {
        // fc at Rank 4: 4·4 + 8·4 + 8·4 = 80, ln 16 (a module to save); bn stays frozen without SaveNormLayers.
        Assert.Equal(96L, NormedBlock.FloraTrainableParameters);
        using var block = new NormedBlock();
        Assert.Equal(NormedBlock.FloraTrainableParameters, block.AttachFlora().TrainableParameters);
        block.DetachFlora();
    }
}
