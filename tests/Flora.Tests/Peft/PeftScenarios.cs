namespace Flora.Tests.Peft;

/// <summary>
/// The attachments the round-trip tests export to PEFT (and check_exports.py loads with PeftModel.from_pretrained):
/// LoRA with a rank and α override and the new head saved whole, DoRA with every BatchNorm saved (PEFT's suffix rule
/// then sees "bn1" inside every block), rsLoRA on the head and a convolution, and FLoRA exported as its exact LoRA.
/// </summary>
internal static class PeftScenarios
{
    public static readonly string[] Names = { "lora", "dora", "rslora", "flora" };

    public static (FloraConfig Config, FloraMethod Method) For(string name) => name switch
    {
        "lora" => (new FloraConfig
        {
            TargetModules = new[] { @"layer1\.0\.conv1|layer2\.0\.downsample\.0|layer3\.1\.conv2" },
            ModulesToSave = new[] { "fc" },
            Defaults = new FloraModelOptions { LoraRank = 4, LoraAlpha = 8 },
            Overrides = new[] { (@"layer3\..*", new FloraTargetOptions { LoraRank = 2, LoraAlpha = 3 }) },
        }, FloraMethod.Lora),
        "dora" => (new FloraConfig
        {
            TargetModules = new[] { @"layer1\.1\.conv2|layer2\.0\.downsample\.0|fc" },
            Defaults = new FloraModelOptions { LoraRank = 3, LoraAlpha = 5, SaveNormLayers = true },
        }, FloraMethod.Dora),
        "rslora" => (new FloraConfig
        {
            TargetModules = new[] { "fc", @"layer2\.1\.conv1" },
            Defaults = new FloraModelOptions { LoraRank = 4, LoraAlpha = 6, UseRsLora = true },
        }, FloraMethod.Lora),
        "flora" => (new FloraConfig
        {
            TargetModules = new[] { @"layer1\.0\.conv1|layer2\.0\.downsample\.0|fc" },
            ModulesToSave = new[] { "layer4.1.bn2" },
            Defaults = new FloraModelOptions { Rank = 4, R3 = 2, Scale = 0.4 },
        }, FloraMethod.Flora),
        _ => throw new ArgumentException(name),
    };

    /// <summary>Gives every adapter and module to save values a trained model might have (LoRA's B and FLoRA's core non-zero).</summary>
    public static void Perturb(FloraAttachment attachment, long seed)
    {
        using var guard = torch.no_grad();
        foreach (var adapter in attachment.Adapters)
        {
            switch (adapter)
            {
                case DoraLayer dora:
                    Add(dora.LoraB, 0.1, seed++);
                    using (var noise = TestTensors.Randn(dora.Magnitude.shape, seed++)) dora.Magnitude.mul_(noise.mul(0.1).add(1));
                    break;
                case LoraLayer lora:
                    Add(lora.LoraB, 0.1, seed++);
                    break;
                case FloraLayer flora:
                    using (var core = TestTensors.Randn(flora.Core.shape, seed++)) flora.Core.copy_(core.mul(0.5));
                    break;
            }
        }
        foreach (var saved in attachment.ModulesToSave)
        {
            foreach (var parameter in saved.Module.parameters()) Add(parameter, 0.05, seed++);
            foreach (var (name, buffer) in saved.Module.named_buffers())
                if (torch.is_floating_point(buffer)) Add(buffer, name.EndsWith("running_var", StringComparison.Ordinal) ? 0.0 : 0.1, seed++);
        }
    }

    private static void Add(Tensor tensor, double scale, long seed)
    {
        using var noise = TestTensors.Randn(tensor.shape, seed);
        tensor.add_(noise.mul(scale));
    }
}
