using System.CommandLine;
using System.IO;

namespace Flora.Cli.Tests.Commands;

/// <summary>The command line's parsing, help and errors (no training).</summary>
[Collection(ConsoleOutputCollection.Name)]
public sealed class CommandLineTests
{
    private static ParseResult Parse(params string[] args) => Program.BuildRoot().Parse(args);

    /// <summary>Each bad argument is a parse error whose message names the option or argument and what it takes.</summary>
    [Theory]
    [InlineData("--seeds must be at least 1.", "compare", "--seeds", "0")]
    [InlineData("Argument 'tpu' not recognized. Must be one of", "compare", "--device", "tpu")]
    [InlineData("--epochs must be at least 1.", "compare", "--epochs", "-1")]
    [InlineData("Cannot parse argument 'x' for option '--width'", "compare", "--width", "x")]
    [InlineData("Argument 'adam' not recognized. Must be one of", "train", "--method", "adam")]
    [InlineData("--rank must be at least 1.", "train", "--rank", "0")]
    [InlineData("--lr must be a positive number.", "train", "--lr", "-0.1")]
    [InlineData("Argument 'vgg16' not recognized. Must be one of", "compare", "--model", "vgg16")]
    [InlineData("--resolution must be a positive multiple of 32 (got 48).", "compare", "--model", "resnet18", "--resolution", "48")]
    [InlineData("--lr-grid takes positive numbers.", "compare", "--model", "resnet18", "--lr-grid", "1e-3", "-1e-2")]
    [InlineData("--resolution must be a positive multiple of 32 (got 0).", "train", "--model", "resnet18", "--resolution", "0")]
    [InlineData("Argument 'cifar10' not recognized. Must be one of", "compare", "--model", "resnet18", "--dataset", "cifar10")]
    [InlineData("Required argument 'adapter' missing for command: 'eval'", "eval")]
    [InlineData("Required argument 'adapter' missing for command: 'inspect'", "inspect")]
    [InlineData("Required argument 'results' missing for command: 'report'", "report")]
    [InlineData("Required argument 'dir' missing for command: 'export-peft'", "export-peft", "a.safetensors")]
    [InlineData("Option '--out' is required.", "import-peft", "dir")]
    [InlineData("Unrecognized command or argument 'bogus'.", "bogus")]
    [InlineData("Unrecognized command or argument 'vae'.", "example", "vae")]
    [InlineData("--epochs must be at least 1.", "example", "unet", "--epochs", "0")]
    public void Bad_arguments_are_parse_errors(string expected, params string[] args) =>
        Assert.Contains(Parse(args).Errors, e => e.Message.StartsWith(expected, StringComparison.Ordinal));

    [Theory]
    [InlineData("compare", "--seeds", "5", "--device", "cuda", "--full", "--methods", "flora", "lora")]
    [InlineData("compare", "--model", "resnet18", "--resolution", "96", "--lr-grid", "1e-4", "1e-3", "1e-2", "--device", "cuda")]
    [InlineData("train", "--model", "resnet18", "--method", "bitfit", "--resolution", "32")]
    [InlineData("compare", "--model", "resnet18", "--search-per-class", "600", "--search-epochs", "2")]
    [InlineData("train", "--method", "dora", "--rank", "8", "--r3", "2", "--scale", "0.4", "--lr", "0.001", "--out", "x.safetensors")]
    [InlineData("compare", "--model", "resnet18", "--dataset", "mnist", "--full", "--device", "cuda")]
    [InlineData("train", "--model", "resnet18", "--dataset", "mnist", "--method", "flora")]
    [InlineData("eval", "a.safetensors", "--model", "resnet18", "--dataset", "mnist")]
    [InlineData("report", "a/results.csv", "--model", "resnet18", "--dataset", "mnist")]
    [InlineData("eval", "a.safetensors", "--data-dir", "/tmp/x")]
    [InlineData("eval", "a.safetensors", "--model", "resnet18", "--resolution", "64")]
    [InlineData("merge", "a.safetensors", "--out", "m.safetensors")]
    [InlineData("inspect", "a.safetensors")]
    [InlineData("export-peft", "a.safetensors", "peft-dir", "--data-dir", "/tmp/x")]
    [InlineData("import-peft", "peft-dir", "--out", "a.safetensors")]
    [InlineData("pretrain", "--full", "--device", "cuda")]
    [InlineData("report", "a/results.csv", "b/results.csv", "--out", "merged", "--setting", "device=cuda")]
    [InlineData("example", "unet", "--train-per-class", "50", "--epochs", "1", "--out", "ex")]
    [InlineData("example", "attention", "--test-per-class", "20", "--seed", "2", "--data-dir", "/tmp/x")]
    public void Valid_arguments_parse(params string[] args) => Assert.Empty(Parse(args).Errors);

    [Fact]
    public void Every_command_has_help()
    {
        var root = Program.BuildRoot();
        Assert.Equal(new[] { "compare", "pretrain", "train", "eval", "merge", "inspect", "export-peft", "import-peft", "report", "example" }, root.Subcommands.Select(c => c.Name));
        Assert.All(root.Subcommands, c => Assert.False(string.IsNullOrWhiteSpace(c.Description)));
        Assert.All(root.Subcommands.SelectMany(c => c.Options).Where(o => o.Name != "--help" && o.Name != "-h"), o => Assert.False(string.IsNullOrWhiteSpace(o.Description), o.Name));
    }

    [Theory]
    [InlineData("compare")]
    [InlineData("train")]
    public void Mnist_digits_on_the_MNIST_pretrained_TinyConvNeXt_is_a_one_line_error_before_any_download_or_pretraining(string command)
    {
        string cache = Directory.CreateTempSubdirectory("flora-dataset-").FullName;
        try
        {
            var (exitCode, output) = ConsoleOutputCollection.RunMain(command, "--dataset", "mnist", "--data-dir", cache);
            Assert.Equal(1, exitCode);
            Assert.Contains("--dataset mnist needs --model resnet18", output);
            Assert.DoesNotContain("   at ", output);
            Assert.Empty(Directory.GetFileSystemEntries(cache)); // nothing downloaded, no base pretrained
        }
        finally
        {
            Directory.Delete(cache, recursive: true);
        }
    }

    [Fact]
    public void A_missing_adapter_file_is_a_one_line_error_with_exit_code_1()
    {
        var (exitCode, output) = ConsoleOutputCollection.RunMain("inspect", "/definitely/not/here.safetensors");
        Assert.Equal(1, exitCode);
        Assert.Contains("does not exist", output);
        Assert.DoesNotContain("   at ", output);
    }

    /// <summary>
    /// <c>flora merge --model resnet18</c> without the ImageNet network's files: the PretrainedModelException is one line
    /// naming the file and the fix, exit code 1, no stack trace, nothing written. The program runs as its own process, so
    /// that FLORA_PRETRAINED_DIR (an empty folder here) is set for it alone.
    /// </summary>
    [Fact]
    public async System.Threading.Tasks.Task A_missing_pretrained_network_is_a_one_line_error_with_exit_code_1()
    {
        string folder = Directory.CreateTempSubdirectory("flora-pretrained-missing-").FullName;
        try
        {
            string adapter = Path.Combine(folder, "adapter.safetensors"), merged = Path.Combine(folder, "merged.safetensors");
            File.WriteAllBytes(adapter, []);
            var start = new System.Diagnostics.ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                Environment = { [Flora.Pretrained.PretrainedFiles.DirectoryVariable] = Path.Combine(folder, "no-network-here") },
            };
            foreach (string arg in new[] { Path.Combine(AppContext.BaseDirectory, "Flora.Cli.dll"), "merge", adapter, "--model", "resnet18", "--out", merged })
                start.ArgumentList.Add(arg);
            using var process = System.Diagnostics.Process.Start(start)!;
            var error = process.StandardError.ReadToEndAsync();
            string output = await process.StandardOutput.ReadToEndAsync() + await error;
            string text = string.Join(' ', output.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)); // the console wraps at 80 columns
            await process.WaitForExitAsync();

            Assert.Equal(1, process.ExitCode);
            Assert.StartsWith("error: ", output, StringComparison.Ordinal);
            Assert.Contains("ResNet18.onnx: file not found.", text, StringComparison.Ordinal);
            Assert.Contains("Microsoft.ML.DnnImageFeaturizer.ResNet18", text, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
            Assert.DoesNotContain("Exception", output, StringComparison.Ordinal);
            Assert.False(File.Exists(merged));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Pretrained_and_divergence_errors_are_user_errors_and_a_bug_is_not()
    {
        Assert.True(Program.IsUserError(new Flora.Pretrained.PretrainedModelException("ResNet18.onnx", null, "the file does not exist")));
        Assert.True(Program.IsUserError(new Training.TrainingDivergedException(double.NaN, 1, 3)));
        Assert.False(Program.IsUserError(new NullReferenceException()));
    }
}
