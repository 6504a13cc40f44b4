using System;
using System.Collections.Generic;
using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using System.IO;
using System.Linq;
using System.Text;
using TorchSharp;

namespace Flora.Bench;

/// <summary>Entry point: <c>Flora.Bench layers|model|resnet|generator [options]</c> (<see cref="BenchCommandLine"/>).</summary>
internal static class Program
{
    private const string CudaMemoryNote = "n/a on CUDA: TorchSharp 0.107 exposes no CUDA allocator statistics (no torch.cuda.max_memory_allocated); " +
                                          "measure per process from outside (nvidia-smi), one variant or method per process.";

    private static int Main(string[] args)
    {
        Console.OutputEncoding = Encoding.UTF8;
        ParseResult parsed = BenchCommandLine.Create().Parse(args);
        if (parsed.Errors.Count > 0 && parsed.Action is not HelpAction)
        {
            foreach (ParseError error in parsed.Errors)
                Console.Error.WriteLine("error: " + error.Message);
            Console.Error.WriteLine("Run with --help for the usage.");
            return 2;
        }
        return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
    }

    /// <summary>Runs <c>layers</c> or <c>model</c> (or, with <see cref="BenchOptions.MemoryChild"/>, its memory pass) as <paramref name="options"/> say.</summary>
    internal static int Run(BenchOptions options)
    {
        if (options.Device == DeviceType.CUDA)
        {
            // First, so that an outside poller (nvidia-smi --query-compute-apps=pid,used_memory) can tell this process's memory.
            Console.WriteLine($"Flora.Bench pid {Environment.ProcessId}");
            if (!torch.cuda.is_available())
            {
                Console.Error.WriteLine("error: CUDA is not available. Build the benchmark against the CUDA libtorch " +
                                        "(dotnet run -c Release --property:FloraBackend=cuda --project src/Flora.Bench -- layers --device cuda) on a machine with a GPU.");
                return 1;
            }
        }
        if (options.Threads is int threads)
            torch.set_num_threads(threads);
        try
        {
            if (options.Command == BenchCommand.Model)
            {
                var model = new ModelBenchmark(options);
                return options.MemoryChild ? ResidentMemory.RunChild(model.MeasureMemory) : RunModel(options, model);
            }
            IReadOnlyList<LayerSpec> specs = LayerShapes.For(options);
            var bench = new LayerBenchmark(options);
            return options.MemoryChild ? ResidentMemory.RunChild(() => MeasureLayers(bench, specs)) : RunLayers(options, bench, specs);
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine("error: " + e.Message);
            return 2;
        }
    }

    private static IEnumerable<(int Row, string Key, double MiB)> MeasureLayers(LayerBenchmark bench, IReadOnlyList<LayerSpec> specs)
    {
        for (int i = 0; i < specs.Count; i++)
            foreach (var (variant, mib) in bench.MeasureMemory(specs[i]))
                yield return (i, variant.ToString(), mib);
    }

    private static int RunLayers(BenchOptions options, LayerBenchmark bench, IReadOnlyList<LayerSpec> specs)
    {
        DateTime started = DateTime.UtcNow;
        string device = DescribeDevice(options);
        Console.WriteLine($"Flora.Bench layers: {device}, {options.DTypeName}, {torch.get_num_threads()} torch threads, " +
                          $"FLoRA rank {options.Rank}, R3 {options.R3}, scale {options.Scale}, batch {options.Batch}, " +
                          $"variants {string.Join(",", options.Variants.Select(BenchOptions.VariantKey))}, " +
                          $"{options.Warmup} warm-up + {options.Iterations} timed steps per variant");

        int passes = bench.WarmUp(specs, TimeSpan.FromSeconds(2));
        Console.WriteLine($"  (warm-up: {passes} untimed pass(es) over all layers and variants)");
        var results = new List<LayerResult>();
        var overall = CpuContention.Start();
        foreach (LayerSpec spec in specs)
        {
            var contention = CpuContention.Start();
            LayerResult result = bench.Time(spec);
            result.OthersCpuPercent = options.Device == DeviceType.CPU ? contention.OthersPercent() : null;
            results.Add(result);
            Console.WriteLine($"  {spec.Name,-26} {spec.InputText,-16} " + string.Join("  ", result.Variants.Select(v =>
                $"{BenchOptions.VariantKey(v.Variant)} {v.MedianMs:0.00} ms")) + $"  (Auto: {Report.PathName(result.Auto)})" +
                (result.OthersCpuPercent is double others ? $"  [others' CPU {others:0}%]" : ""));
        }
        double? othersOverall = options.Device == DeviceType.CPU ? overall.OthersPercent() : null;

        string memoryNote = MeasureCpuMemory(options, peaks =>
        {
            for (int i = 0; i < results.Count; i++)
                foreach (VariantResult variant in results[i].Variants)
                    variant.PeakMiB = peaks.TryGetValue((i, variant.Variant.ToString()), out double mib) ? mib : null;
        }, CpuMemoryNote("one training step", "activations, tensors saved for backward, gradients, ΔW", "the weights or the input"));

        var info = new RunInfo(device, options.DTypeName, torch.get_num_threads(), torch.__version__, started, options.CommandLine, options, memoryNote, othersOverall);
        Report.WriteLayersConsole(Console.Out, info, results);
        WriteMarkdown(options, () => Report.LayersMarkdown(info, results));
        return 0;
    }

    private static int RunModel(BenchOptions options, ModelBenchmark bench)
    {
        DateTime started = DateTime.UtcNow;
        string device = DescribeDevice(options);
        Console.WriteLine($"Flora.Bench model: {device}, {options.DTypeName}, {torch.get_num_threads()} torch threads, " +
                          $"TinyConvNeXt width {options.Width}, batch {options.Batch}, methods {string.Join(",", bench.Methods.Select(m => m.Key))}, " +
                          $"{options.Warmup} warm-up + {options.Iterations} timed steps per method");
        var contention = CpuContention.Start();
        IReadOnlyList<ModelResult> results = bench.Time();
        double? others = options.Device == DeviceType.CPU ? contention.OthersPercent() : null;

        string memoryNote = MeasureCpuMemory(options, peaks =>
        {
            for (int i = 0; i < results.Count; i++)
                results[i].PeakMiB = peaks.TryGetValue((i, results[i].Method.Key), out double mib) ? mib : null;
        }, CpuMemoryNote("one step (after a first step has created FloraAdamW's state)",
                         "activations, tensors saved for backward, gradients, the optimizer's temporaries",
                         "the weights, FloraAdamW's moments or the batch"));

        var info = new RunInfo(device, options.DTypeName, torch.get_num_threads(), torch.__version__, started, options.CommandLine, options, memoryNote, others);
        Report.WriteModelConsole(Console.Out, info, results);
        WriteMarkdown(options, () => Report.ModelMarkdown(info, results));
        return 0;
    }

    /// <summary>
    /// On the CPU, measures every row's peak resident memory in a child process (after all timings) and hands the
    /// peaks, keyed by (row, variant or method key), to <paramref name="assign"/>; returns the report's memory note:
    /// <paramref name="measuredNote"/>, why it could not be measured, or the CUDA note.
    /// </summary>
    private static string MeasureCpuMemory(BenchOptions options, Action<IReadOnlyDictionary<(int Row, string Key), double>> assign, string measuredNote)
    {
        if (options.Device != DeviceType.CPU)
            return CudaMemoryNote;
        Console.WriteLine("Measuring peak resident memory in a child process (after all timings)…");
        var peaks = ResidentMemory.MeasureInChild(options.Arguments, out string reason);
        if (peaks is null)
            return "n/a: " + reason;
        assign(peaks);
        return measuredNote;
    }

    private static string CpuMemoryNote(string what, string counts, string excludes) =>
        $"growth of the resident set (VmHWM − VmRSS just before the step) during {what}, median of 3, " +
        "measured in a separate process in which glibc serves every block of 128 KiB or more with its own mmap " +
        "(MALLOC_MMAP_THRESHOLD_), so that freed tensors leave the resident set at once. " +
        $"It counts what the step allocates ({counts}), not {excludes}.";

    private static void WriteMarkdown(BenchOptions options, Func<string> markdown)
    {
        if (options.MarkdownPath is not string path)
            return;
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null)
            Directory.CreateDirectory(folder);
        File.WriteAllText(path, markdown());
        Console.WriteLine($"Markdown written to {path}");
    }

    private static string DescribeDevice(BenchOptions options)
    {
        if (options.Device == DeviceType.CUDA)
            return $"cuda:0 ({torch.cuda.device_count()} visible)";
        string cpu = "unknown CPU";
        try
        {
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu;
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return $"cpu ({cpu}, {Environment.ProcessorCount} logical cores)";
    }
}
