using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using TorchSharp;

namespace Flora.Bench;

/// <summary>Entry point: <c>Flora.Bench layers [options]</c>.</summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        Console.OutputEncoding = Encoding.UTF8;
        BenchOptions? options;
        try
        {
            options = BenchOptions.Parse(args);
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine("error: " + e.Message);
            Console.Error.WriteLine("Run with --help for the usage.");
            return 2;
        }
        if (options is null)
        {
            Console.WriteLine(BenchOptions.Usage);
            return 0;
        }
        if (options.Device == DeviceType.CUDA && !torch.cuda.is_available())
        {
            Console.Error.WriteLine("error: CUDA is not available. Build the benchmark against the CUDA libtorch " +
                                    "(dotnet run -c Release --property:FloraBackend=cuda --project src/Flora.Bench -- layers --device cuda) on a machine with a GPU.");
            return 1;
        }
        if (options.Threads is int threads)
            torch.set_num_threads(threads);
        if (options.MemoryChild)
            return ResidentMemory.RunChild(new LayerBenchmark(options), LayerShapes.For(options.Shapes, options.Batch));
        return RunLayers(options);
    }

    private static int RunLayers(BenchOptions options)
    {
        DateTime started = DateTime.UtcNow;
        IReadOnlyList<LayerSpec> specs = LayerShapes.For(options.Shapes, options.Batch);
        var bench = new LayerBenchmark(options);
        string device = DescribeDevice(options);
        Console.WriteLine($"Flora.Bench layers: {device}, {options.DTypeName}, {torch.get_num_threads()} torch threads, " +
                          $"rank {options.Rank}, R3 {options.R3}, scale {options.Scale}, batch {options.Batch}, " +
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
                $"{v.Variant.ToString().ToLowerInvariant()} {v.MedianMs:0.00} ms")) + $"  (Auto: {Report.PathName(result.Auto)})" +
                (result.OthersCpuPercent is double others ? $"  [others' CPU {others:0}%]" : ""));
        }
        double? othersOverall = options.Device == DeviceType.CPU ? overall.OthersPercent() : null;

        string memoryNote;
        if (options.Device == DeviceType.CUDA)
        {
            memoryNote = "n/a on CUDA: TorchSharp 0.107 exposes no CUDA allocator statistics (no torch.cuda.max_memory_allocated).";
        }
        else
        {
            Console.WriteLine("Measuring peak resident memory in a child process (after all timings)…");
            var peaks = ResidentMemory.MeasureInChild(options.Arguments, out string reason);
            if (peaks is null)
            {
                memoryNote = "n/a: " + reason;
            }
            else
            {
                for (int i = 0; i < results.Count; i++)
                    foreach (VariantResult variant in results[i].Variants)
                        variant.PeakMiB = peaks.TryGetValue((i, variant.Variant), out double mib) ? mib : null;
                memoryNote = "growth of the resident set (VmHWM − VmRSS just before the step) during one training step, median of 3, " +
                             "measured in a separate process in which glibc serves every block of 128 KiB or more with its own mmap " +
                             "(MALLOC_MMAP_THRESHOLD_), so that freed tensors leave the resident set at once. It counts what the step " +
                             "allocates (activations, tensors saved for backward, gradients, ΔW), not the weights or the input.";
            }
        }

        var info = new RunInfo(device, options.DTypeName, torch.get_num_threads(), torch.__version__, started, options.CommandLine, options, memoryNote, othersOverall);
        Report.WriteConsole(Console.Out, info, results);
        if (options.MarkdownPath is string path)
        {
            string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
            if (folder is not null)
                Directory.CreateDirectory(folder);
            File.WriteAllText(path, Report.Markdown(info, results));
            Console.WriteLine($"Markdown written to {path}");
        }
        return 0;
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
