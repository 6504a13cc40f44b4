using System.IO;
using Flora;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace Flora.EndToEnd.Tests;

/// <summary>A small U-Net-style decoder: a convolution down (stride 2), a transposed convolution up (stride 2, output padding 1) and a skip.</summary>
[FloraModel(Rank = 4, R3 = 2, Scale = 0.4, SaveNormLayers = false)]
public partial class TinyUNet : Module<Tensor, Tensor>
{
    [FloraTarget] private readonly Conv2d down = Conv2d(3, 8, 3, stride: 2, padding: 1);
    [FloraTarget(InRank = 6, OutRank = 2)] private readonly ConvTranspose2d up = ConvTranspose2d(8, 4, 3, stride: 2, padding: 1, output_padding: 1, groups: 2);
    [FloraTarget] private readonly Conv2d head = Conv2d(7, 2, 1);

    public TinyUNet() : base(nameof(TinyUNet)) => RegisterComponents();

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = functional.relu(down.call(x));                 // [N, 8, H/2, W/2]
        var u = up.call(h);                                    // [N, 4, H, W]
        return head.call(torch.cat(new[] { u, x }, 1)).MoveToOuterDisposeScope();
    }
}

/// <summary>The generated members on a model with a transposed convolution: typed property, constant count, training, files.</summary>
public sealed class TransposedDecoderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flora-e2e-transposed-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Tensor Randn(long seed, params long[] shape)
    {
        using var generator = new torch.Generator((ulong)seed);
        return torch.randn(shape, generator: generator);
    }

    [Fact]
    public void The_constant_count_equals_the_runtime_count_and_the_property_is_typed()
    {
        // down [8, 3, 3, 3] at 4, 3→clamped 3, 2, 2; up [8, 2, 3, 3] (in, out/groups) at InRank 6, OutRank 2, 2, 2; head [2, 7, 1, 1] at 2, 4, 1, 1.
        const long down = 4 * 3 * 2 * 2 + 8 * 4 + 3 * 3 + 3 * 2 + 3 * 2;
        const long up = 6 * 2 * 2 * 2 + 8 * 6 + 2 * 2 + 3 * 2 + 3 * 2;
        const long head = 2 * 4 * 1 * 1 + 2 * 2 + 7 * 4 + 1 + 1;
        Assert.Equal(down + up + head, TinyUNet.FloraTrainableParameters);

        using var model = new TinyUNet();
        TinyUNet.FloraAdapters adapters = model.AttachFlora();
        FloraConvTranspose2d upAdapter = adapters.Up;
        Assert.Equal(new[] { 6, 2, 2, 2 }, upAdapter.Config.Ranks);
        Assert.Equal(new long[] { 8, 2, 3, 3 }, upAdapter.Delta().shape);
        Assert.Equal(TinyUNet.FloraTrainableParameters, adapters.TrainableParameters);
        Assert.Equal(adapters.TrainableParameters, model.FloraParameters().Sum(p => p.numel()));
        Assert.Equal(model.parameters().Where(p => p.requires_grad).Sum(p => p.numel()), adapters.TrainableParameters);
    }

    [Fact]
    public void It_trains_saves_and_loads_bit_exactly()
    {
        using var model = new TinyUNet();
        using var fresh = new TinyUNet();
        fresh.load_state_dict(model.state_dict()); // the same base weights, before either is adapted
        var x = Randn(1, 4, 3, 8, 8);
        var target = Randn(2, 4, 2, 8, 8);
        using var before = model.forward(x);
        model.AttachFlora();
        using (var attached = model.forward(x)) Assert.True(attached.eq(before).all().item<bool>());

        var optimizer = torch.optim.AdamW(model.FloraParameters(), lr: 0.01);
        double first = 0, last = 0;
        for (int step = 0; step < 15; step++)
        {
            optimizer.zero_grad();
            using var loss = functional.mse_loss(model.forward(x), target);
            loss.backward();
            optimizer.step();
            if (step == 0) first = loss.item<float>();
            last = loss.item<float>();
        }
        Assert.True(last < first, $"the loss falls while training the adapters ({first} → {last})");
        using var trained = model.forward(x);

        string path = Path.Combine(_dir, "unet.flora.safetensors");
        model.SaveFlora(path);
        fresh.AttachFlora();
        fresh.LoadFlora(path);
        using var reloaded = fresh.forward(x);
        Assert.True(reloaded.eq(trained).all().item<bool>(), "the reloaded model computes the trained one bit for bit");

        model.DetachFlora();
        using var detached = model.forward(x);
        Assert.True(detached.eq(before).all().item<bool>(), "detach gives the exact base model back");
    }
}
