namespace Flora.Tests.Injection;

/// <summary>
/// What the named-adapter tests share: a TinyNet with FLoRA as "default" and LoRA of another rank as "lora", twins with
/// the same base weights, random adapter values, and outputs without gradients.
/// </summary>
internal static class TwoAdapterModel
{
    public static readonly FloraModelOptions FloraOptions = new() { Rank = 4, R3 = 2 };
    public static readonly FloraModelOptions LoraOptions = new() { Rank = 4, R3 = 2, LoraRank = 3, LoraAlpha = 6 };

    public static Tensor Input(long seed = 21) => TestTensors.Randn(new long[] { 2, 3, 12, 12 }, seed);

    /// <summary>A TinyNet with the same base weights as <paramref name="source"/> (taken before attach), in eval mode.</summary>
    public static TinyNet Twin(TinyNet source)
    {
        var twin = new TinyNet();
        twin.load_state_dict(source.state_dict());
        twin.eval();
        return twin;
    }

    /// <summary>Gives every tensor of the attachment's active adapters random values (an update that is not zero).</summary>
    public static void Randomise(FloraAttachment attachment, long seed)
    {
        foreach (var adapter in attachment.Adapters)
        {
            foreach (var (_, tensor) in adapter.AdapterTensors)
            {
                using var values = TestTensors.Randn(tensor.shape, seed++, tensor.dtype);
                using (torch.no_grad()) tensor.copy_(values * 0.2);
            }
        }
    }

    /// <summary>Copies the active adapters' tensors of <paramref name="from"/> into <paramref name="to"/>'s (same targets, method and ranks).</summary>
    public static void CopyTensors(FloraAttachment from, FloraAttachment to)
    {
        Assert.Equal(from.Adapters.Select(a => a.Name), to.Adapters.Select(a => a.Name));
        foreach (var (source, target) in from.Adapters.Zip(to.Adapters))
            foreach (var ((_, s), (_, t)) in source.AdapterTensors.Zip(target.AdapterTensors))
                using (torch.no_grad()) t.copy_(s);
    }

    /// <summary>FLoRA as "default" and LoRA as "lora" on <paramref name="model"/> (a new TinyNet when null), both random; "default" active.</summary>
    public static (TinyNet Model, FloraAttachment Attachment) Create(TinyNet? model = null) =>
        Create(model, (FloraMethod.Flora, FloraOptions), ("lora", FloraMethod.Lora, LoraOptions));

    /// <summary>"default" of <paramref name="first"/> and a second adapter on a TinyNet, both random; "default" active.</summary>
    public static (TinyNet Model, FloraAttachment Attachment) Create(TinyNet? model, (FloraMethod Method, FloraModelOptions Options) first,
        (string Name, FloraMethod Method, FloraModelOptions Options) second)
    {
        model ??= new TinyNet();
        model.eval();
        var attachment = FloraInjector.Attach(model, TinyNet.Config(first.Options), first.Method);
        Randomise(attachment, 100);
        attachment.AddAdapter(second.Name, second.Method, second.Options);
        attachment.SetAdapter(second.Name);
        Randomise(attachment, 200);
        attachment.SetAdapter("default");
        return (model, attachment);
    }

    /// <summary>The model's output for <paramref name="x"/> through its <c>call</c>, without gradients.</summary>
    public static Tensor Output(nn.Module<Tensor, Tensor> model, Tensor x)
    {
        using (torch.no_grad()) return model.call(x);
    }
}
