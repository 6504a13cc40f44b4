using System.IO;
using Flora.Tests.Injection;
using Flora.Tests.Transfer;
using static Flora.Tests.Injection.TwoAdapterModel;

namespace Flora.Tests.Files;

/// <summary>Saving one named adapter by name, and loading a saved file as a new named adapter (PEFT's load_adapter).</summary>
public sealed class NamedAdapterFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flora-named-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void An_inactive_adapter_saved_by_name_loads_onto_a_fresh_model_and_back_as_a_new_adapter_bit_exactly()
    {
        using var model = new TinyNet();
        using var fresh = Twin(model);
        var (_, attachment) = Create(model);
        using var x = Input();
        string path = Path.Combine(_dir, "lora.safetensors");
        attachment.Save(path, "lora"); // "default" is active
        Assert.Equal(new[] { "default" }, attachment.ActiveAdapters);
        Assert.Equal("lora", AdapterFile.ReadConfig(path).Method);

        attachment.SetAdapter("lora");
        using var expected = Output(model, x);
        var reloaded = FloraInjector.AttachFromFile(fresh, path);
        using var onFresh = Output(fresh, x);
        TestTensors.AssertBitEqual(expected, onFresh, "the saved adapter on a fresh model");
        Assert.Equal(new[] { "default" }, reloaded.AdapterNames);

        attachment.LoadAdapter(path, "copy");
        Assert.Equal(new[] { "default", "lora", "copy" }, attachment.AdapterNames);
        Assert.Equal(new[] { "lora" }, attachment.ActiveAdapters);
        attachment.SetAdapter("copy");
        Assert.All(attachment.Adapters, a => Assert.Equal(FloraMethod.Lora, a.Method));
        using var fromCopy = Output(model, x);
        TestTensors.AssertBitEqual(expected, fromCopy, "the adapter loaded by name");
    }

    [Fact]
    public void A_loaded_adapter_is_frozen_until_set()
    {
        var (model, attachment) = Create();
        using var _ = model;
        string path = Path.Combine(_dir, "default.safetensors");
        attachment.Save(path, "default");
        attachment.LoadAdapter(path, "again");
        attachment.SetAdapter("lora");
        attachment.SetAdapter("again");
        var again = attachment.Adapters.ToArray();
        attachment.SetAdapter("lora");
        Assert.All(again.SelectMany(a => a.AdapterTensors), t => Assert.False(t.Tensor.requires_grad));
    }

    [Fact]
    public void Each_adapters_copy_of_the_modules_to_save_travels_with_it()
    {
        using var model = new HeadNet(seed: 5);
        model.eval();
        var attachment = FloraInjector.Attach(model, HeadNet.Config());
        attachment.AddAdapter("b", FloraMethod.Lora);
        attachment.SetAdapter("b");
        using var trainedB = TestTensors.Randn(model.Head.weight!.shape, 41);
        using (torch.no_grad()) model.Head.weight!.copy_(trainedB);
        attachment.SetAdapter("default");
        string path = Path.Combine(_dir, "b.safetensors");
        attachment.Save(path, "b"); // b's copy is parked: the file must hold it, not the module's current values
        attachment.LoadAdapter(path, "c");
        Assert.NotEqual(trainedB.data<float>().ToArray(), model.Head.weight!.data<float>().ToArray());
        attachment.SetAdapter("c");
        TestTensors.AssertBitEqual(trainedB, model.Head.weight!, "'c' has b's head");
    }

    [Fact]
    public void A_bad_file_or_name_is_refused_before_anything_changes()
    {
        var (model, attachment) = Create();
        using var _ = model;
        string path = Path.Combine(_dir, "lora.safetensors");
        attachment.Save(path, "lora");
        Assert.Contains("already attached", Assert.Throws<ArgumentException>(() => attachment.LoadAdapter(path, "lora")).Message);

        // A file adapting a layer this attachment does not target.
        using var other = new TinyNet();
        var narrow = FloraInjector.Attach(other, new FloraConfig { TargetModules = new[] { "head" } });
        var foreign = Assert.Throws<AdapterFileException>(() => narrow.LoadAdapter(path, "wide"));
        Assert.Contains("conv1", foreign.Message);
        Assert.Contains("AttachFromFile", foreign.Message);
        Assert.Equal(new[] { "default" }, narrow.AdapterNames);

        // A damaged file: the tensors' bytes cut short.
        string damaged = Path.Combine(_dir, "damaged.safetensors");
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(damaged, bytes[..(bytes.Length - 16)]);
        Assert.Throws<AdapterFileException>(() => attachment.LoadAdapter(damaged, "broken"));
        Assert.Equal(new[] { "default", "lora" }, attachment.AdapterNames);

        attachment.SetAdapters(new[] { "default", "lora" });
        Assert.Contains("Save(path, adapterName)", Assert.Throws<InvalidOperationException>(() => attachment.Save(Path.Combine(_dir, "both.safetensors"))).Message);
        Assert.False(File.Exists(Path.Combine(_dir, "both.safetensors")));
    }
}
