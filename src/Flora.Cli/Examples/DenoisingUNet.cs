using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Flora.Cli.Examples;

/// <summary>
/// A small U-Net for 28×28 grey-scale images (<c>flora example unet</c>): two convolutions down (the second with
/// stride 2), one at the bottom, a transposed convolution up (stride 2) whose output is concatenated with the first
/// level's features (the skip connection), then two convolutions to one channel. Every layer is a FLoRA target.
/// </summary>
[FloraModel(Rank = 4, R3 = 2, Scale = 4)]
internal sealed partial class DenoisingUNet : Module<Tensor, Tensor>
{
    [FloraTarget] private readonly Conv2d encode = Conv2d(1, 8, 3, padding: 1);
    [FloraTarget] private readonly Conv2d down = Conv2d(8, 16, 3, stride: 2, padding: 1);
    [FloraTarget] private readonly Conv2d bottom = Conv2d(16, 16, 3, padding: 1);
    [FloraTarget] private readonly ConvTranspose2d up = ConvTranspose2d(16, 8, 2, stride: 2);
    [FloraTarget] private readonly Conv2d decode = Conv2d(16, 8, 3, padding: 1);
    [FloraTarget(Rank = 1)] private readonly Conv2d output = Conv2d(8, 1, 1);

    public DenoisingUNet() : base(nameof(DenoisingUNet)) => RegisterComponents();

    /// <summary>Images <c>[N, 1, 28, 28]</c> in, images of the same shape out.</summary>
    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        var skip = functional.relu(encode.call(images));                    // [N, 8, 28, 28]
        var low = functional.relu(bottom.call(functional.relu(down.call(skip)))); // [N, 16, 14, 14]
        var upsampled = functional.relu(up.call(low));                      // [N, 8, 28, 28]
        var joined = functional.relu(decode.call(cat(new[] { upsampled, skip }, 1)));
        return output.call(joined).MoveToOuterDisposeScope();
    }
}
