using System.IO;
using Flora.Cli.Commands;
using Flora.Comparison;

namespace Flora.Cli.Tests.Commands;

/// <summary><c>flora eval/merge --adapter NAME</c> and <c>flora inspect DIR</c>: adapters picked by name in a directory of Flora files or in PEFT's multi-adapter layout.</summary>
public sealed class NamedAdapterCommandsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flora-named-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly FloraConfig Config = new()
    {
        TargetModules = new[] { @"block\dPw1", "stem", "head" },
        Defaults = new FloraModelOptions { Rank = 2, R3 = 1, LoraRank = 2, LoraAlpha = 4 },
    };

    /// <summary>TinyConvNeXt with LoRA "default" and LoRA "task_b", both with non-zero updates; returns each one's output for <paramref name="x"/>.</summary>
    private static (TinyConvNeXt Model, FloraAttachment Attachment, Tensor Default, Tensor TaskB) TwoAdapters(Tensor x)
    {
        var model = PeftCommandsTests.Base();
        var attachment = FloraInjector.Attach(model, Config, FloraMethod.Lora);
        attachment.AddAdapter("task_b", FloraMethod.Lora);
        var outputs = new List<Tensor>();
        foreach (var (name, seed) in new[] { ("default", 5), ("task_b", 6) })
        {
            attachment.SetAdapter(name);
            using (no_grad())
                foreach (var adapter in attachment.Adapters.Cast<LoraLayer>())
                    adapter.LoraB.copy_(torch.randn(adapter.LoraB.shape, generator: new Generator((ulong)seed)).mul(0.1));
            using (no_grad()) outputs.Add(model.forward(x));
        }
        attachment.SetAdapter("default");
        return (model, attachment, outputs[0], outputs[1]);
    }

    private static void AssertSame(Tensor expected, Tensor actual, string what)
    {
        using var error = (actual - expected).abs().max();
        using var scale = expected.abs().max();
        Assert.True(error.item<float>() <= 1e-6 * scale.item<float>(), what);
    }

    [Theory]
    [InlineData("flora")]
    [InlineData("peft")]
    public void An_adapter_is_picked_by_name_in_a_directory(string format)
    {
        using var x = torch.randn(new long[] { 2, 1, 28, 28 }, generator: new Generator(3));
        var (model, attachment, expectedDefault, expectedB) = TwoAdapters(x);
        using var _ = model;
        string directory = Path.Combine(_dir, format);
        if (format == "peft")
        {
            attachment.SavePeft(directory);
        }
        else
        {
            Directory.CreateDirectory(directory);
            attachment.Save(Path.Combine(directory, "default.flora.safetensors"), "default");
            attachment.Save(Path.Combine(directory, "task_b.safetensors"), "task_b");
        }

        Assert.Equal(new[] { "default", "task_b" }, AdapterSources.List(directory).Select(e => e.Name));
        foreach (var (name, expected) in new[] { ((string?)null, expectedDefault), ("task_b", expectedB) })
        {
            using var fresh = PeftCommandsTests.Base();
            var (loaded, picked) = AdapterSources.Attach(fresh, directory, name);
            Assert.Equal(name ?? "default", picked);
            using var output = fresh.forward(x);
            AssertSame(expected, output, $"{format}: {picked}");
            loaded.Detach();
        }
        using var other = PeftCommandsTests.Base();
        var missing = Assert.Throws<ArgumentException>(() => AdapterSources.Attach(other, directory, "nope"));
        Assert.Contains("'nope'", missing.Message);
        Assert.Contains("default, task_b", missing.Message);
        Assert.DoesNotContain(other.modules(), m => m is IFloraAdapter);

        var console = new Spectre.Console.Testing.TestConsole();
        console.Profile.Width = 200;
        AdapterCommands.InspectDirectory(console, directory);
        Assert.Contains("2 adapters", console.Output);
        Assert.Contains("task_b", console.Output);
        Assert.Contains(format == "peft" ? "PEFT" : "Flora", console.Output);
        expectedDefault.Dispose();
        expectedB.Dispose();
    }

    [Fact]
    public void A_single_file_takes_no_adapter_name()
    {
        using var x = torch.randn(new long[] { 1, 1, 28, 28 }, generator: new Generator(4));
        var (model, attachment, a, b) = TwoAdapters(x);
        using var _ = model;
        a.Dispose();
        b.Dispose();
        string file = Path.Combine(_dir, "one.safetensors");
        attachment.Save(file, "task_b");
        using var fresh = PeftCommandsTests.Base();
        Assert.Contains("Leave --adapter out", Assert.Throws<ArgumentException>(() => AdapterSources.Attach(fresh, file, "task_b")).Message);
    }

    [Theory]
    [InlineData("eval", "adapters", "--adapter", "task_b")]
    [InlineData("merge", "adapters", "--adapter", "task_b", "--out", "merged.safetensors")]
    [InlineData("inspect", "adapters")]
    public void The_adapter_option_parses(params string[] args) => Assert.Empty(Program.BuildRoot().Parse(args).Errors);
}
