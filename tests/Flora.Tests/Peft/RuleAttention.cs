using TorchSharp.Modules;

namespace Flora.Tests.Peft;

/// <summary>
/// The attention model of tools/peft/rule_attention.py: an Embedding (50 ids, dim 16) into a MultiheadAttention (embed
/// dim 16, 2 heads; inputs [L, N, E], sequence first, as in PyTorch's default), averaged over the sequence, then a Linear
/// head (16 → 3), with base weights made by the same rule: over the state dict's keys sorted by ordinal
/// (attn.in_proj_bias, attn.in_proj_weight, attn.out_proj.bias, attn.out_proj.weight, emb.weight, head.bias,
/// head.weight), tensor number k, flat element i, x = 0.37·i + k in float64: 0.3·sin x for the embedding, 0.2·sin x for
/// the rest, cast to float32. The input ids are (7·j + 3) mod 50 over the flat index j of a [6, 2] int64 tensor.
/// </summary>
internal sealed class RuleAttention : nn.Module<Tensor, Tensor>
{
    /// <summary>The fixtures PEFT makes on this model (tools/peft/make_fixtures.py's ATTENTION_CONFIGS).</summary>
    public static readonly string[] FixtureNames = { "attention_lora", "attention_rslora_patterns" };

    /// <summary>The state dict's keys, as PyTorch names them (the rule runs over them in this order).</summary>
    public static readonly string[] StateKeys =
        { "attn.in_proj_bias", "attn.in_proj_weight", "attn.out_proj.bias", "attn.out_proj.weight", "emb.weight", "head.bias", "head.weight" };

    public static readonly long[] InputShape = { 6, 2 };

    private readonly Embedding emb = nn.Embedding(50, 16);
    private readonly MultiheadAttention attn = nn.MultiheadAttention(16, 2);
    private readonly Linear head = nn.Linear(16, 3);

    private RuleAttention() : base(nameof(RuleAttention)) => RegisterComponents();

    public override Tensor forward(Tensor ids)
    {
        using var embedded = emb.call(ids);
        var (attended, weights) = attn.call(embedded, embedded, embedded, null, false, null);
        weights.Dispose();
        using (attended)
        using (var pooled = attended.mean(new long[] { 0 }))
            return head.call(pooled);
    }

    /// <summary>A fresh attention model with the rule's base weights, in eval mode.</summary>
    public static RuleAttention Create()
    {
        var model = new RuleAttention();
        Assert.Equal(StateKeys, model.state_dict().Keys.Order(StringComparer.Ordinal));
        return RuleWeights.Load(model, key => key == "emb.weight" ? 0.3 : 0.2);
    }

    /// <summary>The rule's ids, [L, N].</summary>
    public static Tensor Input() => RuleWeights.Ids(InputShape, offset: 3);
}
