namespace Flora.Pretrained.Tests;

/// <summary>torchvision's layer names, and FLoRA adapters on them by name pattern and through the generator.</summary>
public sealed class NamesAndAdaptersTests
{
    /// <summary>torchvision's resnet18 module names, for stages of <paramref name="blocks"/> basic blocks.</summary>
    private static List<string> TorchvisionModuleNames(int[] blocks)
    {
        var names = new List<string> { "conv1", "bn1", "relu", "maxpool" };
        for (int s = 0; s < blocks.Length; s++)
        {
            names.Add($"layer{s + 1}");
            for (int b = 0; b < blocks[s]; b++)
            {
                string p = $"layer{s + 1}.{b}";
                names.AddRange(new[] { p, p + ".conv1", p + ".bn1", p + ".relu", p + ".conv2", p + ".bn2" });
                if (s > 0 && b == 0)
                    names.AddRange(new[] { p + ".downsample", p + ".downsample.0", p + ".downsample.1" });
            }
        }
        names.AddRange(new[] { "avgpool", "fc" });
        return names;
    }

    [Fact]
    public void Module_names_and_state_dict_keys_are_torchvisions()
    {
        using var model = new ResNet18(10);
        var expected = TorchvisionModuleNames(new[] { 2, 2, 2, 3 });
        // TorchSharp lists named_modules breadth-first per level, PyTorch depth-first: same names, other order.
        var actual = model.named_modules().Select(m => m.name).Where(n => n.Length > 0).ToList();
        Assert.Equal(expected.OrderBy(n => n, StringComparer.Ordinal), actual.OrderBy(n => n, StringComparer.Ordinal));
        Assert.Equal(expected.Where(n => !n.Contains('.')), model.named_children().Select(c => c.name));

        var expectedKeys = new List<string>();
        foreach (var name in expected)
        {
            string leaf = name.Split('.').Last();
            if (name == "fc") expectedKeys.AddRange(new[] { "fc.weight", "fc.bias" });
            else if (leaf.StartsWith("conv", StringComparison.Ordinal) || (name.EndsWith(".0", StringComparison.Ordinal) && name.Contains("downsample")))
                expectedKeys.Add(name + ".weight");
            else if (leaf.StartsWith("bn", StringComparison.Ordinal) || name.EndsWith("downsample.1", StringComparison.Ordinal))
                expectedKeys.AddRange(new[] { "weight", "bias", "running_mean", "running_var", "num_batches_tracked" }.Select(k => $"{name}.{k}"));
        }
        Assert.Equal(expectedKeys.OrderBy(k => k, StringComparer.Ordinal), model.state_dict().Keys.OrderBy(k => k, StringComparer.Ordinal));
        Assert.Equal(11_689_512 + 512 * 512 * 9 * 2 + 4 * 512 - 512 * 1000 - 1000 + 512 * 10 + 10,
            model.parameters().Sum(p => p.numel()));   // torchvision's resnet18 + one 512-wide block, 10 classes
    }

    [Fact]
    public void Name_pattern_attaches_21_adapters_that_leave_the_output_unchanged()
    {
        using var scope = NewDisposeScope();
        using var model = PretrainedModels.ResNet18(10);
        model.eval();
        var input = PretrainedModels.ResNet18Preprocess(TestImages.Structured(2, size: 64));
        using var noGrad = no_grad();
        var before = model.call(input);
        var attachment = FloraInjector.Attach(model, new FloraConfig { TargetModules = new[] { @"layer\d\.\d\.(conv\d|downsample\.0)" } });
        // torchvision's 8 blocks would give 16 + 3 = 19; this network's 9 blocks (2, 2, 2, 3) give 18 + 3 = 21.
        var names = attachment.Adapters.Select(a => a.Name).ToList();
        Assert.Equal(21, names.Count);
        Assert.Equal(18, names.Count(n => n.EndsWith(".conv1", StringComparison.Ordinal) || n.EndsWith(".conv2", StringComparison.Ordinal)));
        Assert.Equal(new[] { "layer2.0.downsample.0", "layer3.0.downsample.0", "layer4.0.downsample.0" },
            names.Where(n => n.Contains("downsample", StringComparison.Ordinal)));
        Assert.Contains("layer4.2.conv2", names);
        var after = model.call(input);
        Assert.Equal(0, (after - before).abs().max().ToDouble());
        attachment.Detach();
    }

    [Fact]
    public void Generated_members_attach_flora_to_a_block_through_its_targets()
    {
        using var scope = NewDisposeScope();
        using var block = new BasicBlock(64, 128, stride: 2);
        block.eval();
        using var noGrad = no_grad();
        var input = randn(2, 64, 16, 16);
        var before = block.call(input);
        var adapters = block.AttachFlora();
        Assert.IsType<FloraConv2d>(adapters.Conv1);
        Assert.IsType<FloraConv2d>(adapters.Conv2);
        Assert.True(adapters.TrainableParameters > 0);
        Assert.Equal(0, (block.call(input) - before).abs().max().ToDouble());
        block.DetachFlora();
    }

    [Fact]
    public void The_generated_AttachFlora_of_the_whole_network_adapts_every_block_and_saves_the_new_head()
    {
        using var scope = NewDisposeScope();
        using var model = PretrainedModels.ResNet18(10);
        model.eval();
        var input = PretrainedModels.ResNet18Preprocess(TestImages.Structured(2, size: 64));
        Tensor before;
        using (no_grad()) before = model.call(input);
        var adapters = model.AttachFlora(FloraMethod.Flora, new FloraModelOptions { Rank = 8, R3 = 2, SaveNormLayers = true });
        var names = adapters.All.Select(a => a.Name).ToList();
        Assert.Equal(21, names.Count); // the nested blocks' [FloraTarget]s, under torchvision's paths
        Assert.Equal("layer1.0.conv1", names[0]);
        Assert.Contains("layer4.0.downsample.0", names);
        Assert.Contains("layer4.2.conv2", names);
        var saved = adapters.Attachment.ModulesToSave.Select(m => m.Path).ToList();
        Assert.Contains("fc", saved);
        Assert.Contains("bn1", saved);
        Assert.Contains("layer3.0.downsample.1", saved);
        Assert.Equal(1 + 1 + 9 * 2 + 3, saved.Count); // the head, the stem's BatchNorm, two per block, one per projection
        Assert.Equal(model.parameters().Where(p => p.requires_grad).Sum(p => p.numel()), adapters.TrainableParameters);
        using (no_grad()) Assert.Equal(0, (model.call(input) - before).abs().max().ToDouble());
        model.DetachFlora();
    }
}
