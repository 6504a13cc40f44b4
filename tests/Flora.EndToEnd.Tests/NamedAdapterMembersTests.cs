using System.IO;
using Flora;

namespace Flora.EndToEnd.Tests;

/// <summary>The generated named-adapter members (AddFloraAdapter, SetFloraAdapter, SaveFlora/LoadFlora by name) on README's SmallCnn.</summary>
public sealed class NamedAdapterMembersTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flora-e2e-named-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Tensor Run(SmallCnn model, Tensor x)
    {
        using (no_grad()) return model.call(x);
    }

    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    [Fact]
    public void A_second_adapter_switches_saves_by_name_and_loads_onto_a_fresh_model()
    {
        using var model = new SmallCnn();
        model.eval();
        using var x = randn(2, 1, 8, 8, generator: new Generator(5));
        var adapters = model.AttachFlora();
        using (no_grad()) adapters.Conv2.Core.normal_(generator: new Generator(6));
        using var flora = Run(model, x);

        model.AddFloraAdapter("lora", FloraMethod.Lora, new FloraModelOptions { LoraRank = 2 });
        using (var stillFlora = Run(model, x)) Assert.True(Same(flora, stillFlora), "a new adapter is inactive");
        model.SetFloraAdapter("lora");
        Assert.All(adapters.All, a => Assert.Equal(FloraMethod.Lora, a.Method));
        using (no_grad())
            foreach (var adapter in adapters.All.Cast<LoraLayer>()) adapter.LoraB.normal_(generator: new Generator(7));
        using var lora = Run(model, x);
        Assert.False(lora.allclose(flora), "the LoRA adapter computes its own output");
        Assert.Throws<InvalidOperationException>(() => adapters.Conv1); // typed FLoRA properties refuse another method

        string path = Path.Combine(_dir, "lora.flora.safetensors");
        model.SaveFlora(path, "lora");
        model.SetFloraAdapter("default");
        using (var back = Run(model, x)) Assert.True(Same(flora, back), "'default' again, bit for bit");

        using var fresh = new SmallCnn();
        fresh.load_state_dict(model.state_dict().Where(kv => !kv.Key.Contains("core") && !kv.Key.Contains("factor"))
            .ToDictionary(kv => kv.Key.Replace(".base_layer", ""), kv => kv.Value));
        fresh.eval();
        fresh.AttachFlora();
        fresh.LoadFlora(path, "task");
        fresh.SetFloraAdapter("task");
        using var loaded = Run(fresh, x);
        Assert.True(loaded.allclose(lora, rtol: 1e-6, atol: 1e-7), "the adapter saved by name computes the same on a fresh model");
    }
}
