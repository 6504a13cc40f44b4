namespace Flora.Tests.Peft;

/// <summary>
/// The attachments the round-trip tests export to PEFT (and check_exports.py loads with PeftModel.from_pretrained):
/// LoRA with a rank and α override and the new head saved whole, DoRA with every BatchNorm saved (PEFT's suffix rule
/// then sees "bn1" inside every block), rsLoRA on the head and a convolution, FLoRA exported as its exact LoRA, and
/// AdaLoRA on the head, the stem (7×7, stride 2) and a 1×1 stride-2 downsample after a whole allocation (PEFT's
/// resized state dict with a rank_pattern).
/// </summary>
internal static class PeftScenarios
{
    public static readonly string[] Names = { "lora", "dora", "rslora", "flora", "adalora" };

    /// <summary>The AdaLoRA scenario's schedule: the fixture's (tools/peft/make_fixtures.py), 3 targets of 6 triplets down to 12 in all.</summary>
    public static readonly AdaLoraOptions AdaLoraSchedule = new() { InitRank = 6, TargetRank = 4, TotalSteps = 10, TInit = 2, TFinal = 2 };

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
        "adalora" => (new FloraConfig
        {
            TargetModules = new[] { @"conv1|layer2\.0\.downsample\.0|fc" },
            ModulesToSave = new[] { "layer4.1.bn2" },
            Defaults = new FloraModelOptions { LoraAlpha = 8, AdaLora = AdaLoraSchedule },
        }, FloraMethod.AdaLora),
        _ => throw new ArgumentException(name),
    };

    /// <summary>
    /// Gives every adapter and module to save values a trained model might have (LoRA's B and FLoRA's core non-zero,
    /// AdaLoRA's Λ, then its whole allocation with seeded gradients, so that the final masks are in place).
    /// </summary>
    public static void Perturb(FloraAttachment attachment, long seed)
    {
        PerturbValues(attachment, seed);
        if (attachment.Method == FloraMethod.AdaLora) Allocate(attachment, seed + 10_000);
    }

    /// <summary>
    /// Runs AdaLoRA's allocation up to its final step (<c>TotalSteps − TFinal</c>) with seeded gradients in place of a
    /// training's, so that the budget is allocated and the masked Λ entries are zero.
    /// </summary>
    public static void Allocate(FloraAttachment attachment, long seed)
    {
        var options = attachment.RankAllocator!.Options;
        for (int step = 1; step <= options.TotalSteps!.Value - options.TFinal; step++)
        {
            foreach (var parameter in attachment.Adapters.SelectMany(a => a.AdapterTensors).Select(t => t.Tensor))
                parameter.grad = TestTensors.Randn(parameter.shape, seed++);
            attachment.UpdateAndAllocate(step);
        }
        foreach (var parameter in attachment.Parameters()) parameter.grad = null;
    }

    private static void PerturbValues(FloraAttachment attachment, long seed)
    {
        using var guard = torch.no_grad();
        foreach (var adapter in attachment.Adapters)
        {
            switch (adapter)
            {
                case AdaLoraLayer adaLora:
                    using (var lambda = TestTensors.Randn(adaLora.LoraE.shape, seed++)) adaLora.LoraE.copy_(lambda.mul(0.5));
                    Add(adaLora.LoraA, 0.05, seed++);
                    Add(adaLora.LoraB, 0.05, seed++);
                    break;
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
