using System.IO;
using System.Text;
using System.Text.Json;
using Flora.Tests.Injection;

namespace Flora.Tests.Files;

/// <summary>Saving and loading adapter files, and the table of files that must be refused without touching the model.</summary>
public sealed class AdapterFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flora-files-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (TinyNet Model, FloraAttachment Attachment) Trained(long seed, FloraModelOptions? options = null)
    {
        var model = new TinyNet();
        var attachment = FloraInjector.Attach(model, TinyNet.Config(options));
        int i = 0;
        foreach (FloraLayer adapter in attachment.Adapters) TestTensors.RandomiseCore(adapter, seed + i++);
        return (model, attachment);
    }

    private static Dictionary<string, Tensor> StateOf(nn.Module model) =>
        model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());

    [Fact]
    public void Save_then_load_round_trips_bit_exactly_and_holds_nothing_of_the_base()
    {
        var (source, saved) = Trained(seed: 1);
        string path = Path.Combine(_dir, "run.flora.safetensors");
        saved.Save(path);

        using var content = Safetensors.Load(path);
        Assert.All(content.Tensors.Keys, k => Assert.DoesNotContain("base_layer", k));
        Assert.Contains("conv1.core", content.Tensors.Keys);
        Assert.Contains("conv1.factor.out", content.Tensors.Keys);
        Assert.Contains("conv1.factor.k1", content.Tensors.Keys);
        Assert.Contains("seq.pw.factor.in", content.Tensors.Keys);
        Assert.Equal(saved.TrainableParameters, content.Tensors.Values.Sum(t => t.numel()));
        var config = AdapterFile.ReadConfig(path);
        Assert.Equal("flora", config.Method);
        Assert.Equal(TinyNet.TargetNames, config.Targets.Select(t => t.Name));
        Assert.Equal(new long[] { 8, 1, 7, 7 }, config.Targets.Single(t => t.Name == "dw").WeightShape);

        var (target, loaded) = Trained(seed: 50);
        loaded.Load(path);
        foreach (var (a, b) in saved.Adapters.Zip(loaded.Adapters))
            foreach (var (ta, tb) in a.AdapterTensors.Zip(b.AdapterTensors))
                TestTensors.AssertBitEqual(ta.Tensor, tb.Tensor, a.Name + "." + ta.Key);
        source.Dispose();
        target.Dispose();
    }

    [Fact]
    public void Saving_writes_through_a_temporary_file_and_overwrites_atomically()
    {
        var (model, attachment) = Trained(seed: 2);
        string path = Path.Combine(_dir, "a.safetensors");
        attachment.Save(path);
        attachment.Save(path);
        Assert.Equal(new[] { "a.safetensors" }, Directory.GetFiles(_dir).Select(Path.GetFileName));
        model.Dispose();
    }

    [Theory]
    [InlineData(FloraMethod.Flora)]
    [InlineData(FloraMethod.Lora)]
    [InlineData(FloraMethod.Dora)]
    [InlineData(FloraMethod.BitFit)]
    [InlineData(FloraMethod.Houlsby)]
    [InlineData(FloraMethod.Pfeiffer)]
    [InlineData(FloraMethod.AdaLora)]
    public void AttachFromFile_rebuilds_the_saved_adapters_on_a_fresh_base_and_loads_them(FloraMethod method)
    {
        using var source = new TinyNet();
        var saved = FloraInjector.Attach(source, TinyNet.Config(new FloraModelOptions { Rank = 3, R3 = 2, Scale = 2 }), method);
        using (torch.no_grad())
            foreach (var (_, tensor) in saved.Adapters.SelectMany(a => a.AdapterTensors)) tensor.add_(torch.randn_like(tensor) * 0.1);
        string path = Path.Combine(_dir, $"{method}.safetensors");
        saved.Save(path);

        using var fresh = new TinyNet();
        var baseState = source.state_dict();
        // The fresh model gets the same base weights, then the adapter from the file alone.
        foreach (var (key, value) in fresh.state_dict())
        {
            string sourceKey = baseState.ContainsKey(key) ? key : key.Replace(".weight", ".base_layer.weight").Replace(".bias", ".base_layer.bias");
            using (torch.no_grad()) value.copy_(baseState[sourceKey]);
        }
        var loaded = FloraInjector.AttachFromFile(fresh, path);
        Assert.Equal(method, loaded.Method);
        Assert.Equal(saved.Adapters.Select(a => a.Spec), loaded.Adapters.Select(a => a.Spec));
        source.eval();
        fresh.eval();
        using var x = TestTensors.Randn(new long[] { 2, 3, 12, 12 }, seed: 21);
        TestTensors.AssertBitEqual(source.forward(x), fresh.forward(x), "the rebuilt model's output");
    }

    [Fact]
    public void AttachFromFile_names_a_layer_the_model_lacks_and_leaves_it_untouched()
    {
        using var source = new TinyNet();
        var saved = FloraInjector.Attach(source, TinyNet.Config());
        string path = Path.Combine(_dir, "layers.safetensors");
        saved.Save(path);
        using var other = new Flora.Tests.Baselines.MiniConvNext();
        var names = other.named_parameters().Select(p => p.name).ToList();
        var error = Assert.Throws<AdapterFileException>(() => FloraInjector.AttachFromFile(other, path));
        Assert.Contains("the model has no layer", error.Message);
        Assert.Equal(names, other.named_parameters().Select(p => p.name).ToList());
    }

    /// <summary>One way a file can be bad, and what the error must name.</summary>
    public sealed record BadFile(string Name, Func<byte[], string, byte[]> Corrupt, string ExpectedInMessage)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<BadFile> BadFiles() => new()
    {
        new BadFile("truncated", (b, _) => b[..(b.Length / 2)], ""),
        new BadFile("garbage", (_, _) => Encoding.ASCII.GetBytes("this is not a safetensors file at all, just text"), ""),
        new BadFile("header length too large", (b, _) => { var c = (byte[])b.Clone(); BitConverter.GetBytes((ulong)b.Length * 2).CopyTo(c, 0); return c; }, ""),
        new BadFile("header length zero", (b, _) => { var c = (byte[])b.Clone(); BitConverter.GetBytes(0UL).CopyTo(c, 0); return c; }, ""),
        new BadFile("empty file", (_, _) => Array.Empty<byte>(), ""),
        new BadFile("missing key", (b, _) => Rewrite(b, (t, m) => t.Remove("dw.factor.k0")), "dw.factor.k0"),
        new BadFile("extra key", (b, _) => Rewrite(b, (t, m) => t["conv1.lora_A"] = torch.zeros(2, 2)), "conv1.lora_A"),
        new BadFile("wrong shape", (b, _) => Rewrite(b, (t, m) => t["head.core"] = torch.zeros(3, 3)), "head.core"),
        new BadFile("wrong dtype", (b, _) => Rewrite(b, (t, m) => t["head.core"] = torch.zeros(new long[] { 4, 4 }, ScalarType.Int32)), "head.core"),
        new BadFile("NaN values", (b, _) => Rewrite(b, (t, m) => { var x = t["seq.pw.core"].clone(); x[0, 0, 0, 0] = torch.tensor(double.NaN); t["seq.pw.core"] = x; }), "seq.pw.core"),
        new BadFile("infinite values", (b, _) => Rewrite(b, (t, m) => t["conv1.factor.in"] = torch.full(t["conv1.factor.in"].shape, double.PositiveInfinity)), "conv1.factor.in"),
        new BadFile("config of another method", (b, _) => Rewrite(b, (t, m) => m["flora"] = m["flora"].Replace("\"method\":\"flora\"", "\"method\":\"lora\"")), "FloraMethod.Lora"),
        new BadFile("config of another rank", (b, _) => Rewrite(b, (t, m) => m["flora"] = m["flora"].Replace("\"ranks\":[4,4]", "\"ranks\":[4,2]")), "head"),
        new BadFile("config of another scale", (b, _) => Rewrite(b, (t, m) => m["flora"] = m["flora"].Replace("\"scale\":0.4", "\"scale\":4")), "conv1"),
        new BadFile("config missing", (b, _) => Rewrite(b, (t, m) => m.Remove("flora")), SafetensorsHeader.MetadataKey),
        new BadFile("config not JSON", (b, _) => Rewrite(b, (t, m) => m["flora"] = "{not json"), SafetensorsHeader.MetadataKey),
        new BadFile("config of a newer format", (b, _) => Rewrite(b, (t, m) => m["flora"] = m["flora"].Replace("\"format\":" + AdapterFileConfig.CurrentFormat, "\"format\":99")), "Update Flora"),
        new BadFile("target the model lacks", (b, _) => Rewrite(b, (t, m) => m["flora"] = m["flora"].Replace("\"name\":\"head\"", "\"name\":\"classifier\"")), "head"),
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void A_bad_file_is_refused_with_its_name_and_key_and_the_model_stays_bit_identical(BadFile bad)
    {
        var (source, saved) = Trained(seed: 3);
        string good = Path.Combine(_dir, "good.safetensors");
        saved.Save(good);
        string path = Path.Combine(_dir, bad.Name.Replace(' ', '-') + ".safetensors");
        File.WriteAllBytes(path, bad.Corrupt(File.ReadAllBytes(good), path));

        var (model, attachment) = Trained(seed: 60);
        var before = StateOf(model);
        var error = Assert.Throws<AdapterFileException>(() => attachment.Load(path));
        Assert.Contains(path, error.Message);
        Assert.Contains(bad.ExpectedInMessage, error.Message);
        foreach (var (key, value) in StateOf(model)) TestTensors.AssertBitEqual(before[key], value, key);
        source.Dispose();
        model.Dispose();
    }

    [Fact]
    public void A_missing_file_and_a_merged_model_get_clear_errors()
    {
        var (model, attachment) = Trained(seed: 4);
        string missing = Path.Combine(_dir, "missing.safetensors");
        var notFound = Assert.Throws<AdapterFileException>(() => attachment.Load(missing));
        Assert.Contains(missing, notFound.Message);
        Assert.IsType<FileNotFoundException>(notFound.InnerException);
        string path = Path.Combine(_dir, "ok.safetensors");
        attachment.Save(path);
        attachment.Merge();
        Assert.Contains("UnmergeFlora", Assert.Throws<InvalidOperationException>(() => attachment.Load(path)).Message);
        Assert.Contains("UnmergeFlora", Assert.Throws<InvalidOperationException>(() => attachment.Save(path)).Message);
        model.Dispose();
    }

    [Fact]
    public void A_file_for_a_model_with_other_shapes_is_refused()
    {
        var (model, attachment) = Trained(seed: 5, new FloraModelOptions { Rank = 2, R3 = 1 });
        string path = Path.Combine(_dir, "rank2.safetensors");
        attachment.Save(path);
        var (other, otherAttachment) = Trained(seed: 6);
        var error = Assert.Throws<AdapterFileException>(() => otherAttachment.Load(path));
        Assert.Contains("key 'conv1'", error.Message);
        Assert.Contains("ranks (2, 2, 1, 1)", error.Message);
        Assert.Contains("ranks (4, 3, 2, 2)", error.Message);
        model.Dispose();
        other.Dispose();
    }

    [Fact]
    public void A_damaged_file_is_an_AdapterFileException_that_keeps_the_format_error()
    {
        var (model, attachment) = Trained(seed: 7);
        string path = Path.Combine(_dir, "damaged.safetensors");
        File.WriteAllBytes(path, Encoding.ASCII.GetBytes("this is not a safetensors file at all, just text"));
        var before = StateOf(model);
        var error = Assert.Throws<AdapterFileException>(() => attachment.Load(path));
        Assert.IsType<SafetensorsFormatException>(error.InnerException);
        Assert.IsType<SafetensorsFormatException>(Assert.Throws<AdapterFileException>(() => AdapterFile.ReadConfig(path)).InnerException);
        using var fresh = new TinyNet();
        Assert.IsType<SafetensorsFormatException>(Assert.Throws<AdapterFileException>(() => FloraInjector.AttachFromFile(fresh, path)).InnerException);
        foreach (var (key, value) in StateOf(model)) TestTensors.AssertBitEqual(before[key], value, key);
        model.Dispose();
    }

    [Fact]
    public void A_TorchSharp_model_save_file_is_recognised_and_the_fix_named()
    {
        var (model, attachment) = Trained(seed: 8);
        string path = Path.Combine(_dir, "model.bin");
        using (var plain = new TinyNet()) plain.save(path);
        var before = StateOf(model);
        var error = Assert.Throws<AdapterFileException>(() => attachment.Load(path));
        Assert.Contains(path, error.Message);
        Assert.Contains("TorchSharp's own format (Module.save)", error.Message);
        Assert.Contains("model.load(", error.Message);
        Assert.DoesNotContain("header length", error.Message);
        foreach (var (key, value) in StateOf(model)) TestTensors.AssertBitEqual(before[key], value, key);
        Assert.Contains("TorchSharp's own format", Assert.Throws<SafetensorsFormatException>(() => Safetensors.Load(path)).Message);
        model.Dispose();
    }

    [Fact]
    public void Saving_into_a_folder_that_does_not_exist_names_the_path_and_the_folder()
    {
        var (model, attachment) = Trained(seed: 9);
        string folder = Path.Combine(_dir, "runs", "today");
        string path = Path.Combine(folder, "a.safetensors");
        var error = Assert.Throws<DirectoryNotFoundException>(() => attachment.Save(path));
        Assert.Contains($"'{path}'", error.Message);
        Assert.Contains($"'{Path.Combine(_dir, "runs")}' does not exist", error.Message);
        Assert.Contains($"Directory.CreateDirectory(\"{folder}\")", error.Message);
        Assert.DoesNotContain(".tmp-", error.Message);
        Assert.False(Directory.Exists(folder));
        model.Dispose();
    }

    /// <summary>Rewrites a valid file through the safetensors codec with its tensors or metadata changed.</summary>
    internal static byte[] Rewrite(byte[] file, Action<Dictionary<string, Tensor>, Dictionary<string, string>> change)
    {
        using var content = Safetensors.Parse(file, "test");
        var tensors = content.Tensors.ToDictionary(kv => kv.Key, kv => kv.Value);
        var metadata = content.Metadata.ToDictionary(kv => kv.Key, kv => kv.Value);
        change(tensors, metadata);
        return Safetensors.Serialize(tensors, metadata);
    }
}
