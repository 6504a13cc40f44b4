using Flora;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace Flora.EndToEnd.Tests;

/// <summary>README's SmallCnn, as a user writes it.</summary>
[FloraModel(Rank = 8, R3 = 2, Scale = 0.4, MaxTrainableParameters = 200_000, SaveNormLayers = false)]
public partial class SmallCnn : Module<Tensor, Tensor>
{
#pragma warning disable FLORA003 // README's example as written: Rank 16 exceeds conv1's single input channel, so r_in is clamped to 1.
    [FloraTarget(Rank = 16, R3 = 2)] private readonly Conv2d conv1 = Conv2d(1, 32, 3, padding: 1);
#pragma warning restore FLORA003
    [FloraTarget] private readonly Conv2d conv2 = Conv2d(32, 64, 3, padding: 1);
    [FloraTarget(Rank = 4)] private readonly Linear head = Linear(64, 10);
    private readonly BatchNorm2d bn = BatchNorm2d(32);

    public SmallCnn() : base(nameof(SmallCnn)) => RegisterComponents();

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = functional.relu(bn.call(conv1.call(x)));
        h = functional.relu(conv2.call(h));
        return head.call(h.mean(new long[] { 2, 3 })).MoveToOuterDisposeScope();
    }
}

/// <summary>Targets as properties (get-only auto-property, a settable property typed Module), constants and tuples.</summary>
public partial class PropertyModel : Module<Tensor, Tensor>
{
    private const int Width = 6;

    [FloraTarget(R3 = 1)] public Conv2d Stem { get; } = Conv2d(3, Width, (3, 5), padding: (1, 2));
    [FloraTarget(OutRank = 2, InRank = 3)] public Module<Tensor, Tensor> Mix { get; set; } = Conv1d(Width, 2 * Width, 3, padding: 1);
    [FloraTarget] private Linear _head = Linear(2 * Width, 4);

    public PropertyModel() : base(nameof(PropertyModel)) => RegisterComponents();

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = Stem.call(x);                                  // [N, 6, H, W]
        h = Mix.call(h.mean(new long[] { 3 }));                // [N, 12, H]
        return _head.call(h.mean(new long[] { 2 })).MoveToOuterDisposeScope();
    }
}

/// <summary>Shapes known only at run time: no compile-time constant, a real count after attach.</summary>
public partial class RuntimeShapes : Module<Tensor, Tensor>
{
    [FloraTarget] private readonly Linear fc;
    [FloraTarget(R3 = 3)] private readonly Conv3d conv;

    public RuntimeShapes(int width) : base(nameof(RuntimeShapes))
    {
        fc = Linear(width, width);
        conv = Conv3d(2, width, 3, padding: 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => fc.call(conv.call(x).mean(new long[] { 2, 3, 4 }));
}

public static partial class Outer
{
    /// <summary>A model nested in a static partial class, generic, depthwise.</summary>
    public partial class Nested<T> : Module<Tensor, Tensor>
    {
        [FloraTarget] private readonly Conv2d dw = Conv2d(8, 8, 7, padding: 3, groups: 8);

        public Nested() : base("Nested") => RegisterComponents();

        public T? Tag { get; set; }

        public override Tensor forward(Tensor x) => dw.call(x);
    }
}

/// <summary>A token classifier: an Embedding (padding id 0) mean-pooled over the tokens, then a Linear head.</summary>
[FloraModel(Rank = 4, Scale = 0.5)]
public partial class TokenClassifier : Module<Tensor, Tensor>
{
    [FloraTarget(OutRank = 6)] private readonly Embedding tokens = Embedding(50, 16, padding_idx: 0);
    [FloraTarget] private readonly Linear head = Linear(16, 3);

    public TokenClassifier() : base(nameof(TokenClassifier)) => RegisterComponents();

    public override Tensor forward(Tensor ids)
    {
        using var scope = NewDisposeScope();
        var h = tokens.call(ids).mean(new long[] { 1 });       // [N, T, 16] → [N, 16]
        return head.call(h).MoveToOuterDisposeScope();
    }
}

/// <summary>A token classifier with self-attention: Embedding, MultiheadAttention over the tokens, mean-pooled, a Linear head.</summary>
[FloraModel(Rank = 4, Scale = 0.5)]
public partial class AttentionClassifier : Module<Tensor, Tensor>
{
    [FloraTarget(OutRank = 6)] private readonly Embedding embed = Embedding(50, 16);
    [FloraTarget(OutRank = 6)] private readonly MultiheadAttention attn = MultiheadAttention(16, 4);
    [FloraTarget] private readonly Linear head = Linear(16, 3);

    public AttentionClassifier() : base(nameof(AttentionClassifier)) => RegisterComponents();

    public override Tensor forward(Tensor ids)
    {
        using var scope = NewDisposeScope();
        var tokens = embed.call(ids).transpose(0, 1);                     // [N, T] → [T, N, 16], sequence first
        var attended = attn.call(tokens, tokens, tokens, null, false, null).Item1;
        return head.call(attended.mean(new long[] { 0 })).MoveToOuterDisposeScope();
    }
}
