using System.Collections.Generic;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Flora.Cli.Examples;

/// <summary>
/// A one-block transformer classifier over an image read as 49 tokens (<c>flora example attention</c>): each 4×4
/// patch's mean brightness quantised to <see cref="Levels"/> levels is a token id, embedded with a learned embedding of
/// its position; one multi-head self-attention layer with a residual and LayerNorm, a residual Linear, mean pooling and
/// a Linear head over 10 classes.
/// </summary>
internal sealed class PatchTransformer : Module<Tensor, Tensor>
{
    /// <summary>The side of a square patch in pixels.</summary>
    public const int PatchSize = 4;

    /// <summary>The brightness levels a patch is quantised to (the token vocabulary).</summary>
    public const int Levels = 16;

    /// <summary>Tokens per 28×28 image: a 7×7 grid of patches.</summary>
    public const int Tokens = 49;

    private const int Width = 32;
    private const int Heads = 4;

    private readonly Embedding tokens = Embedding(Levels, Width);
    private readonly Embedding positions = Embedding(Tokens, Width);
    private readonly MultiheadAttention attention = MultiheadAttention(Width, Heads);
    private readonly LayerNorm norm = LayerNorm(Width);
    private readonly Linear mix = Linear(Width, Width);
    private readonly Linear head = Linear(Width, 10);

    public PatchTransformer() : base(nameof(PatchTransformer)) => RegisterComponents();

    /// <summary>The names of the layers the example adapts: both embeddings, the attention and the two Linears.</summary>
    public static IReadOnlyList<string> TargetModules { get; } = new[] { "tokens", "positions", "attention", "mix", "head" };

    /// <summary>The token ids <c>[N, 49]</c> of images <c>[N, 1, 28, 28]</c> with pixel values in [0, 1].</summary>
    public static Tensor Tokenise(Tensor images)
    {
        using var scope = NewDisposeScope();
        var means = functional.avg_pool2d(images, PatchSize);                // [N, 1, 7, 7]
        return means.mul(Levels - 1).round().clamp(0, Levels - 1).to(ScalarType.Int64).flatten(1).MoveToOuterDisposeScope();
    }

    /// <summary>Token ids <c>[N, 49]</c> in, class logits <c>[N, 10]</c> out.</summary>
    public override Tensor forward(Tensor ids)
    {
        using var scope = NewDisposeScope();
        var where = arange(Tokens, ScalarType.Int64, ids.device);
        var x = (tokens.call(ids) + positions.call(where)).transpose(0, 1); // [49, N, 32]: the attention's [L, N, E]
        var attended = attention.call(x, x, x, null, false, null).Item1;
        var h = norm.call(x + attended);
        h = h + functional.relu(mix.call(h));
        return head.call(h.mean(new long[] { 0 })).MoveToOuterDisposeScope();
    }
}
