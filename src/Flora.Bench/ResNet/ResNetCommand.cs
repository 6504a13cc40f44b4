using System.CommandLine;
using TorchSharp;

namespace Flora.Bench.ResNet;

/// <summary><c>Flora.Bench resnet</c>: its options, read into <see cref="ResNetOptions"/> for <see cref="ResNetBenchmark.Run"/>.</summary>
internal static class ResNetCommand
{
    public static Command Create()
    {
        var device = BenchOption.Device("Where to run (the proxy: cpu)");
        var dtype = BenchOption.DType("dtype of the model, adapters and input");
        var batch = BenchOption.PositiveList("--batch", "Batch sizes, comma-separated (default 32,128,512; the proxy 1)");
        var size = BenchOption.OptionalPositive("--size", "Input height and width (default 112; the proxy 8)");
        var methods = BenchOption.Names("--methods",
            "Methods, comma-separated (default all): floor (base frozen, the input requires grad), full (full fine-tuning), flora, lora, dora; " +
            "variants in the same process: flora-alone (no forward scope: adapters build alone), flora-hooks (hook-bound targets), likewise lora-… and dora-…",
            ResNetOptions.KnownMethods);
        var path = BenchOption.ForwardPath("--path", "Forward path of the adapters");
        var iterations = BenchOption.OptionalPositive("--iterations", "Timed steps per method (default 30 on CUDA, 200 on CPU)");
        var warmup = BenchOption.OptionalPositive("--warmup", "Untimed steps per method (default 10 on CUDA, 30 on CPU)");
        var threads = BenchOption.OptionalPositive("--threads", "torch intra-op threads (the proxy: 1)");
        var proxy = new Option<bool>("--proxy") { Description = "The CPU proxy of host cost: 1×3×8×8, one thread; reports µs per adapter over the floor" };
        var noGroups = new Option<bool>("--no-groups")
        {
            Description = "Call the model's forward(x) instead of call(x): no forward scope opens, so every adapter builds its weight alone (adapter groups off)",
        };
        var hookBound = new Option<bool>("--hook-bound")
        {
            Description = "Keep every target hook-bound (its base layer in the parent's field, reached through forward hooks) instead of storing the adapter in the field",
        };
        var mainJob = new Option<bool>("--main-job")
        {
            Description = "The main job's training step (flora compare --model resnet18): adapters on every convolution, the head and BatchNorm " +
                          "layers trained and saved, FloraAdamW (weight decay 0.05), gradients clipped at norm 1, the loss read back; input 64×64 unless --size",
        };
        var markdown = BenchOption.Markdown("Also write the table as markdown to PATH");
        var command = new Command("resnet",
            "One SGD training step of TorchVision's ResNet-18 (adapters on the 16 convolutions of layer1–layer4, FLoRA rank 8, R3 2; " +
            "LoRA and DoRA at the rank matched to FLoRA's budget) per method and batch size.")
        {
            device.Option, dtype.Option, batch, size, methods, path.Option, iterations, warmup, threads, proxy, noGroups, hookBound, mainJob, markdown,
        };
        command.SetAction(result =>
        {
            bool isProxy = result.GetValue(proxy);
            DeviceType chosen = isProxy ? DeviceType.CPU : device.Get(result);
            bool cuda = chosen == DeviceType.CUDA;
            var options = new ResNetOptions
            {
                Device = chosen,
                DType = dtype.Get(result),
                Batches = result.GetValue(batch) ?? (isProxy ? new[] { 1 } : new[] { 32, 128, 512 }),
                Size = result.GetValue(size) ?? (isProxy ? 8 : result.GetValue(mainJob) ? 64 : 112),
                Methods = result.GetValue(methods) ?? ResNetOptions.AllMethods,
                Path = path.Get(result),
                Iterations = result.GetValue(iterations) ?? (cuda ? 30 : 200),
                Warmup = result.GetValue(warmup) ?? (cuda ? 10 : 30),
                Threads = result.GetValue(threads) ?? (isProxy ? 1 : null),
                Proxy = isProxy,
                NoGroups = result.GetValue(noGroups),
                HookBound = result.GetValue(hookBound),
                MainJob = result.GetValue(mainJob),
                Markdown = result.GetValue(markdown),
                CommandLine = string.Join(" ", BenchCommandLine.Arguments(result)),
            };
            return ResNetBenchmark.Run(options);
        });
        return command;
    }
}
