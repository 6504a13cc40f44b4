namespace Flora;

/// <summary>
/// How PEFT's <c>save_pretrained</c> names the tensors of a LoRA adapter in <c>adapter_model.safetensors</c>
/// (<c>get_peft_model_state_dict</c> in peft/utils/save_and_load.py, with the adapter name removed): every key starts
/// with <c>base_model.model.</c> and the module's path; a target adds <c>lora_A.weight</c>, <c>lora_B.weight</c> and, for
/// DoRA, <c>lora_magnitude_vector</c> (LoRA's <c>_get_adapter_state_dict</c> strips the <c>.weight</c> of the DoRA layer);
/// an Embedding target adds <c>lora_embedding_A</c> and <c>lora_embedding_B</c> (parameters of a <c>ParameterDict</c>, no
/// <c>.weight</c>);
/// an AdaLoRA target adds <c>lora_A</c>, <c>lora_B</c> and <c>lora_E</c> (parameters of its own, no <c>.weight</c>; PEFT
/// never saves <c>ranknum</c>, and keeps only the rows and columns of the kept triplets when the configuration has a
/// <c>rank_pattern</c>, AdaLoRA's <c>_get_adapter_state_dict</c>);
/// a module to save adds the names of its own <c>state_dict()</c> (<c>ModulesToSaveWrapper.adapter_state_dict</c> drops
/// <c>modules_to_save.default.</c>), e.g. <c>base_model.model.fc.weight</c>, <c>base_model.model.bn1.running_mean</c>.
/// </summary>
internal static class PeftKeys
{
    /// <summary>The file PEFT writes the adapter tensors to.</summary>
    public const string WeightsFileName = "adapter_model.safetensors";

    /// <summary>The prefix of every key: the <c>PeftModel</c> → <c>LoraModel</c> → base model path.</summary>
    public const string Prefix = "base_model.model.";

    /// <summary>lora_A's weight, <c>[r, in]</c> or <c>[r, in, k…]</c>.</summary>
    public const string LoraA = "lora_A.weight";

    /// <summary>lora_B's weight, <c>[out, r]</c> or <c>[out, r, 1…]</c>.</summary>
    public const string LoraB = "lora_B.weight";

    /// <summary>An Embedding's A, <c>[r, num_embeddings]</c> (a parameter itself: no <c>.weight</c>).</summary>
    public const string LoraEmbeddingA = "lora_embedding_A";

    /// <summary>An Embedding's B, <c>[dim, r]</c>.</summary>
    public const string LoraEmbeddingB = "lora_embedding_B";

    /// <summary>DoRA's magnitude: <c>[out]</c> for Linear, <c>[1, out, 1…]</c> for convolutions.</summary>
    public const string Magnitude = "lora_magnitude_vector";

    /// <summary>AdaLoRA's Q, <c>[r, in·Πk]</c> (a parameter itself: no <c>.weight</c>).</summary>
    public const string AdaLoraA = "lora_A";

    /// <summary>AdaLoRA's P, <c>[out, r]</c>.</summary>
    public const string AdaLoraB = "lora_B";

    /// <summary>AdaLoRA's singular values Λ, <c>[r, 1]</c>.</summary>
    public const string AdaLoraE = "lora_E";

    /// <summary>The key of <paramref name="tensor"/> of the module at PEFT path <paramref name="module"/>.</summary>
    public static string Of(string module, string tensor) => Prefix + module + "." + tensor;
}
