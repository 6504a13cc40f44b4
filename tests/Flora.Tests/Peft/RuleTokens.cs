using TorchSharp.Modules;

namespace Flora.Tests.Peft;

/// <summary>
/// The token model of tools/peft/rule_tokens.py: an Embedding (50 ids, dim 16, padding id 0) mean-pooled over the tokens,
/// then a Linear head (16 → 3), with base weights made by the same rule: over the state dict's keys sorted by ordinal
/// (emb.weight, head.bias, head.weight), tensor number k, flat element i, x = 0.37·i + k in float64: 0.05·sin x, cast
/// to float32. The input ids are (7·j) mod 50 over the flat index j of a [2, 6] int64 tensor.
/// </summary>
internal sealed class RuleTokens : nn.Module<Tensor, Tensor>
{
    /// <summary>The fixtures PEFT makes on this model (tools/peft/make_fixtures.py's EMBEDDING_CONFIGS).</summary>
    public static readonly string[] FixtureNames = { "tokens_dora_embedding", "tokens_lora_embedding" };

    public static readonly long[] InputShape = { 2, 6 };

    private readonly Embedding emb = nn.Embedding(50, 16, padding_idx: 0);
    private readonly Linear head = nn.Linear(16, 3);

    private RuleTokens() : base(nameof(RuleTokens)) => RegisterComponents();

    public override Tensor forward(Tensor ids)
    {
        using var embedded = emb.call(ids);
        using var pooled = embedded.mean(new long[] { 1 });
        return head.call(pooled);
    }

    /// <summary>A fresh token model with the rule's base weights, in eval mode.</summary>
    public static RuleTokens Create() => RuleWeights.Load(new RuleTokens(), _ => 0.05);

    /// <summary>The rule's ids.</summary>
    public static Tensor Input() => RuleWeights.Ids(InputShape, offset: 0);
}
