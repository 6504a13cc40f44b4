using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora.Bench.ResNet;

/// <summary>
/// The median step of one method at one batch size: the whole step (synchronised), the host's part (until the step's
/// last kernel is queued, no synchronisation), the GPU's own time (CUDA only; null elsewhere) and the native calls of
/// one step (only on the counting bridge of tools/native-calls; null otherwise).
/// </summary>
internal sealed record ResNetResult(int Batch, string Method, long Trainable, double MedianMs, double MinMs, double EnqueueMs, double? GpuMs, double? NativeCalls);

/// <summary>
/// Times one SGD training step of TorchVision's ResNet-18 per method (<see cref="ResNetOptions"/>): forward,
/// cross-entropy on random labels, backward, <c>p -= lr·grad</c> on what the method trains. Methods are interleaved
/// round by round (the order rotated) so that drift of the machine falls on all alike; gradients are set to none
/// outside the clock. Every method has its own model from the same seed.
/// </summary>
internal static class ResNetBenchmark
{
    /// <summary>The 16 convolutions of layer1–layer4's basic blocks (not the downsample projections).</summary>
    public const string TargetPattern = @"layer[1-4]\.[0-9]+\.conv[12]";

    /// <summary>The main job's targets: every convolution (the stem, the blocks' and the downsample projections).</summary>
    public const string MainJobPattern = @"conv1|layer[1-4]\.[0-9]+\.conv[12]|layer[2-4]\.0\.downsample\.0";

    /// <summary>Times every method at every batch size of <paramref name="options"/> and prints (and writes) the table.</summary>
    public static int Run(ResNetOptions options)
    {
        if (options.Device == DeviceType.CUDA && !cuda.is_available())
        {
            Console.Error.WriteLine("error: CUDA is not available (pack with tools/gpu/pack.sh and run on a GPU machine).");
            return 1;
        }
        if (options.Threads is int threads) set_num_threads(threads);
        var device = new Device(options.Device, options.Device == DeviceType.CUDA ? 0 : -1);
        Console.WriteLine($"Flora.Bench {options.CommandLine}: {options.Device}, {options.DTypeName}, {get_num_threads()} torch threads, " +
                          $"input {options.Size}×{options.Size}, {options.Warmup} warm-up + {options.Iterations} timed steps");
        var results = new List<ResNetResult>();
        foreach (int batch in options.Batches)
        {
            results.AddRange(TimeBatch(options, device, batch));
            foreach (var r in results.Where(r => r.Batch == batch))
                Console.WriteLine($"  batch {batch,4}  {r.Method,-6} {r.MedianMs,9:0.000} ms (min {r.MinMs:0.000}, host {r.EnqueueMs:0.000}" +
                                  $"{(r.GpuMs is double g ? $", GPU {g:0.000}" : "")}{(r.NativeCalls is double n ? $", {n:0} native calls" : "")})  trainable {r.Trainable:N0}");
        }
        string table = Markdown(options, results);
        Console.WriteLine(table);
        if (options.Markdown is string path) File.WriteAllText(path, table);
        return 0;
    }

    private static IEnumerable<ResNetResult> TimeBatch(ResNetOptions options, Device device, int batch)
    {
        manual_seed(4321);
        using var images = randn(new long[] { batch, 3, options.Size, options.Size }).to(options.DType, device);
        using var labels = randint(0, 1000, new long[] { batch }).to(device);
        var cases = options.Methods.Select(m => new ResNetCase(m, options, device)).ToArray();
        NativeCallCounter? counter = NativeCallCounter.Find();
        try
        {
            var samples = cases.ToDictionary(c => c, _ => new double[options.Iterations]);
            var enqueue = cases.ToDictionary(c => c, _ => new double[options.Iterations]);
            var calls = cases.ToDictionary(c => c, _ => 0UL);
            for (int round = 0; round < options.Warmup + options.Iterations; round++)
                for (int k = 0; k < cases.Length; k++)
                {
                    ResNetCase c = cases[(k + round) % cases.Length];
                    c.ClearGradients();
                    Synchronize(options, device);
                    ulong callsBefore = counter?.Total ?? 0;
                    long start = Stopwatch.GetTimestamp();
                    c.Step(images, labels);
                    double queued = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                    ulong callsAfter = counter?.Total ?? 0;
                    Synchronize(options, device);
                    double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                    if (round < options.Warmup) continue;
                    samples[c][round - options.Warmup] = ms;
                    enqueue[c][round - options.Warmup] = queued;
                    calls[c] += callsAfter - callsBefore;
                }
            foreach (var c in cases)
                if (c.Paths() is string paths) Console.WriteLine($"  batch {batch,4}  {c.Method,-6} paths taken: {paths}");
            var gpu = options.Device == DeviceType.CUDA ? GpuTimes(cases, images, labels, device, enqueue) : null;
            return cases.Select(c => new ResNetResult(batch, c.Method, c.Trainable, LayerBenchmark.Median(samples[c]), samples[c].Min(),
                LayerBenchmark.Median(enqueue[c]), gpu?[c], counter is null ? null : (double)calls[c] / options.Iterations)).ToArray();
        }
        finally
        {
            foreach (var c in cases) c.Dispose();
        }
    }

    /// <summary>
    /// Each case's GPU time per step (median of 9): the default stream is first held busy by large matrix products for
    /// longer than the host takes to queue the step, so that the events around the step time the GPU's work alone.
    /// Null when the CUDA runtime library cannot be found.
    /// </summary>
    private static Dictionary<ResNetCase, double>? GpuTimes(ResNetCase[] cases, Tensor images, Tensor labels, Device device, Dictionary<ResNetCase, double[]> enqueue)
    {
        using var events = CudaEvents.Create();
        if (events is null) return null;
        using var a = randn(new long[] { 4096, 4096 }, device: device);
        cuda.synchronize(device);
        events.Start();
        using (a.matmul(a)) { }
        double busyMs = Math.Max(events.Stop(), 1e-3);
        var result = new Dictionary<ResNetCase, double>();
        foreach (var c in cases)
        {
            int products = (int)Math.Ceiling(2 * enqueue[c].Max() / busyMs) + 1;
            var times = new double[9];
            for (int i = 0; i < times.Length; i++)
            {
                c.ClearGradients();
                cuda.synchronize(device);
                for (int p = 0; p < products; p++)
                    using (a.matmul(a)) { }
                events.Start();
                c.Step(images, labels);
                times[i] = events.Stop();
            }
            result[c] = LayerBenchmark.Median(times);
        }
        return result;
    }

    private static void Synchronize(ResNetOptions options, Device device)
    {
        if (options.Device == DeviceType.CUDA) cuda.synchronize(device);
    }

    private static string Markdown(ResNetOptions options, IReadOnlyList<ResNetResult> results)
    {
        var text = new StringBuilder();
        text.AppendLine($"ResNet-18 (TorchVision), {options.Device} {options.DTypeName}, {get_num_threads()} thread(s), input {options.Size}×{options.Size}, " +
                        $"path {options.Path}{(options.NoGroups ? ", groups off" : "")}{(options.HookBound ? ", hook-bound" : "")}; median of {options.Iterations} steps. `{options.CommandLine}`");
        text.AppendLine();
        text.AppendLine("| batch | method | trainable | step (ms) | × floor | × LoRA | µs/adapter over floor | host (ms) | GPU (ms) | native calls |");
        text.AppendLine("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            double? floor = results.FirstOrDefault(x => x.Batch == r.Batch && x.Method == "floor")?.MedianMs;
            double? lora = results.FirstOrDefault(x => x.Batch == r.Batch && x.Method == "lora")?.MedianMs;
            string Ratio(double? d) => d is double v ? (r.MedianMs / v).ToString("0.00", CultureInfo.InvariantCulture) : "";
            string perAdapter = floor is double f && r.Method is not ("floor" or "full")
                ? ((r.MedianMs - f) * 1000 / (options.MainJob ? 20 : 16)).ToString("0", CultureInfo.InvariantCulture) : "";
            string Ms(double? v) => v is double x ? x.ToString("0.000", CultureInfo.InvariantCulture) : "";
            string calls = r.NativeCalls is double n ? n.ToString("0", CultureInfo.InvariantCulture) : "";
            text.AppendLine($"| {r.Batch} | {r.Method} | {r.Trainable:N0} | {Ms(r.MedianMs)} | {Ratio(floor)} | {Ratio(lora)} | {perAdapter} | {Ms(r.EnqueueMs)} | {Ms(r.GpuMs)} | {calls} |");
        }
        return text.ToString();
    }

    /// <summary>One method's model and what it trains.</summary>
    private sealed class ResNetCase : IDisposable
    {
        private static readonly Scalar MinusLearningRate = (-1e-3).ToScalar();
        private readonly nn.Module<Tensor, Tensor> _model;
        private readonly Parameter[] _trainable;
        private readonly bool _inputRequiresGrad;
        private readonly bool _noGroups;
        private readonly FloraAdamW? _optimizer;
        private readonly FloraAttachment? _attachment;

        public ResNetCase(string method, ResNetOptions options, Device device)
        {
            Method = method;
            _noGroups = options.NoGroups || method.EndsWith("-alone", StringComparison.Ordinal);
            bool hookBound = options.HookBound || method.EndsWith("-hooks", StringComparison.Ordinal);
            string kindName = method.Split('-')[0];
            manual_seed(1234);
            _model = torchvision.models.resnet18(num_classes: 1000);
            _model.to(device);
            if (options.DType != ScalarType.Float32) _model.to(options.DType);
            _model.train();
            switch (method)
            {
                case "full":
                    _trainable = _model.parameters().ToArray();
                    if (options.MainJob) _optimizer = new FloraAdamW(_trainable, 1e-4, weightDecay: 0.05);
                    break;
                case "floor":
                    foreach (var p in _model.parameters()) p.requires_grad = false;
                    _model.eval(); // BatchNorm frozen as well, as the adapter methods keep it (FloraAttachment.FrozenNormLayers)
                    _trainable = Array.Empty<Parameter>();
                    _inputRequiresGrad = true;
                    break;
                default:
                    var config = new FloraConfig
                    {
                        TargetModules = new[] { options.MainJob ? MainJobPattern : TargetPattern },
                        ModulesToSave = options.MainJob ? new[] { "fc" } : Array.Empty<string>(),
                        Defaults = new FloraModelOptions { Rank = 8, R3 = 2, ForwardPath = options.Path, SaveNormLayers = options.MainJob },
                    };
                    var kind = kindName switch { "flora" => FloraMethod.Flora, "lora" => FloraMethod.Lora, _ => FloraMethod.Dora };
                    FloraInjector.StoreInFields = !hookBound;
                    FloraAttachment attachment = _attachment = FloraInjector.Attach(_model, config, kind);
                    FloraInjector.StoreInFields = true;
                    int expected = options.MainJob ? 20 : 16;
                    if (attachment.Adapters.Count != expected)
                        throw new InvalidOperationException($"expected {expected} adapters, attached {attachment.Adapters.Count}");
                    _trainable = attachment.Parameters().ToArray();
                    if (options.MainJob) _optimizer = new FloraAdamW(_trainable, 1e-3, weightDecay: 0.05);
                    break;
            }
            Trainable = _trainable.Sum(p => p.numel());
        }

        public string Method { get; }

        public long Trainable { get; }

        public void Step(Tensor images, Tensor labels)
        {
            using var scope = NewDisposeScope();
            Tensor input = _inputRequiresGrad ? images.detach().requires_grad_(true) : images;
            Tensor loss = nn.functional.cross_entropy(_noGroups ? _model.forward(input) : _model.call(input), labels);
            loss.backward();
            if (_optimizer is not null)
            {
                // The main job's step (Flora.Cli's Trainer): clipping, AdamW, and the loss read back (a synchronisation).
                using (_optimizer.ClipGradientNorm(1.0)) { }
                _optimizer.Step();
                _ = loss.item<float>();
                return;
            }
            using (no_grad())
                foreach (Parameter p in _trainable)
                    p.add_(p.grad!, MinusLearningRate);
        }

        /// <summary>How many adapters took each path in the last step, e.g. <c>Factorised×12 Fused×4</c>; null without adapters.</summary>
        public string? Paths() => _attachment is null ? null : string.Join(" ", _attachment.Adapters.OfType<DeltaAdapterLayer>()
            .GroupBy(a => a.LastPath).Select(g => $"{g.Key}×{g.Count()}"));

        public void ClearGradients()
        {
            if (_optimizer is not null)
            {
                _optimizer.ZeroGrad();
                return;
            }
            foreach (Parameter p in _trainable) p.grad = null;
        }

        public void Dispose()
        {
            _optimizer?.Dispose();
            _model.Dispose();
        }
    }
}
