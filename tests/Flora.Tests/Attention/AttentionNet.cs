using TorchSharp.Modules;

namespace Flora.Tests.Attention;

/// <summary>A model holding a TorchSharp MultiheadAttention in a readonly field (its calls reach an adapter through hooks) and a Linear head.</summary>
internal sealed class AttentionNet : nn.Module<Tensor, Tensor>
{
    private readonly MultiheadAttention attn;
    private readonly Linear head;

    public AttentionNet(long embed, long heads, bool biasKv = false, bool zeroAttention = false, double dropout = 0, long? kdim = null)
        : base(nameof(AttentionNet))
    {
        attn = nn.MultiheadAttention(embed, heads, dropout: dropout, add_bias_kv: biasKv, add_zero_attn: zeroAttention, kdim: kdim, vdim: kdim);
        head = nn.Linear(embed, 3);
        RegisterComponents();
    }

    public MultiheadAttention Attention => attn;

    /// <summary>The attention's output and weights for these arguments, called as a user calls it.</summary>
    public (Tensor Output, Tensor Weights) Attend(Tensor query, Tensor key, Tensor value, Tensor? keyPaddingMask, bool needWeights, Tensor? attnMask)
    {
        var (output, weights) = attn.call(query, key, value, keyPaddingMask, needWeights, attnMask);
        return (output, weights);
    }

    public override Tensor forward(Tensor x) => head.call(attn.call(x, x, x, null, false, null).Item1);

    public static FloraConfig Config(FloraModelOptions? defaults = null) => new()
    {
        TargetModules = new[] { "attn" },
        Defaults = defaults ?? new FloraModelOptions { Rank = 4 },
    };
}
