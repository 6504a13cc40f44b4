using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace Flora.Bench;

/// <summary>What is timed for each layer shape.</summary>
internal enum Variant
{
    /// <summary>The frozen base layer alone.</summary>
    Base,
    /// <summary>FLoRA, factorised forward.</summary>
    Factorised,
    /// <summary>FLoRA, materialised ΔW (the authors' approach).</summary>
    Materialised,
    /// <summary>FLoRA merged into the base weight.</summary>
    Merged,
}

/// <summary>The timings of one variant of one layer.</summary>
internal sealed record VariantResult(Variant Variant, double MedianMs, double MinMs, IReadOnlyList<double> SamplesMs)
{
    /// <summary>Peak resident-memory growth of one step in MiB, when measured.</summary>
    public double? PeakMiB { get; set; }
}

/// <summary>The results of one layer shape.</summary>
internal sealed record LayerResult(LayerSpec Spec, string Adapter, long AdapterParameters, FloraCostEstimate Cost, double UpdateMismatch,
                                   IReadOnlyList<VariantResult> Variants)
{
    public FloraForwardPath Auto => Cost.Cheaper;

    /// <summary>Share of the machine's CPU time other processes took while this layer was timed, in percent (Linux).</summary>
    public double? OthersCpuPercent { get; set; }

    public VariantResult this[Variant variant] => Variants.First(v => v.Variant == variant);

    public double Ratio(Variant variant) => this[variant].MedianMs / this[Variant.Base].MedianMs;
}

/// <summary>
/// Times one training step — forward, a sum loss, backward — of a layer shape in four variants. In every variant the
/// input requires grad, so backward runs through the layer; the base layer's parameters are frozen and the adapter's
/// tensors are trainable, as in fine-tuning. Gradients are set to none before each step (zero_grad(set_to_none)).
/// </summary>
internal sealed class LayerBenchmark
{
    private readonly BenchOptions _options;
    private readonly Device _device;
    private readonly FloraModelOptions _flora;

    public LayerBenchmark(BenchOptions options)
    {
        _options = options;
        _device = new Device(options.Device, options.Device == DeviceType.CUDA ? 0 : -1);
        _flora = new FloraModelOptions { Rank = options.Rank, R3 = options.R3, Scale = options.Scale, Dropout = 0 };
    }

    public static readonly Variant[] AllVariants = { Variant.Base, Variant.Factorised, Variant.Materialised, Variant.Merged };

    /// <summary>
    /// Times every variant of <paramref name="spec"/>. The variants are interleaved: each round runs every variant
    /// once, in an order rotated from round to round, so that drift of the machine's speed (other load, clocks)
    /// falls on all variants alike. Warm-up rounds first, then the timed rounds. Merging before and unmerging after
    /// a merged step happen outside the clock.
    /// </summary>
    public LayerResult Time(LayerSpec spec)
    {
        using var layer = new Case(this, spec);
        double mismatch = layer.UpdateMismatch();
        var samples = AllVariants.ToDictionary(v => v, _ => new double[_options.Iterations]);
        for (int round = 0; round < _options.Warmup + _options.Iterations; round++)
        {
            int timed = round - _options.Warmup;
            for (int k = 0; k < AllVariants.Length; k++)
            {
                Variant variant = AllVariants[(k + round) % AllVariants.Length];
                layer.Enter(variant);
                layer.ClearGradients();
                Synchronize();
                long start = Stopwatch.GetTimestamp();
                layer.Step(variant);
                Synchronize();
                double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                if (timed >= 0)
                    samples[variant][timed] = ms;
                if (timed == 0)
                    layer.CheckGradients(variant);
                layer.Leave(variant);
            }
        }
        var results = AllVariants.Select(v => new VariantResult(v, Median(samples[v]), samples[v].Min(), samples[v])).ToList();
        return new LayerResult(spec, layer.Adapter.Describe(), layer.Adapter.TrainableParameters,
                               layer.Adapter.EstimateCost(spec.InputShape), mismatch, results);
    }

    /// <summary>
    /// Untimed passes over every layer and variant before any timing — at least one, repeated until
    /// <paramref name="minimum"/> has passed (at most ten) — so that start-up work (JIT, libtorch's thread pool and
    /// kernel caches, a build that just finished) does not land on the first layer's numbers.
    /// </summary>
    public int WarmUp(IReadOnlyList<LayerSpec> specs, TimeSpan minimum)
    {
        long start = Stopwatch.GetTimestamp();
        int passes = 0;
        do
        {
            foreach (LayerSpec spec in specs)
            {
                using var layer = new Case(this, spec);
                foreach (Variant variant in AllVariants)
                {
                    layer.Enter(variant);
                    layer.ClearGradients();
                    layer.Step(variant);
                    Synchronize();
                    layer.Leave(variant);
                }
            }
            passes++;
        } while (Stopwatch.GetElapsedTime(start) < minimum && passes < 10);
        return passes;
    }

    /// <summary>
    /// Each variant's peak resident-memory growth during one step (median of three), after one untimed step.
    /// CPU only; meant for a process started with glibc's mmap threshold fixed (see <see cref="ResidentMemory"/>).
    /// </summary>
    public IReadOnlyDictionary<Variant, double> MeasureMemory(LayerSpec spec)
    {
        using var layer = new Case(this, spec);
        var result = new Dictionary<Variant, double>();
        foreach (Variant variant in AllVariants)
        {
            layer.Enter(variant);
            layer.ClearGradients();
            layer.Step(variant);
            var peaks = new double[3];
            for (int i = 0; i < peaks.Length; i++)
            {
                layer.ClearGradients();
                long start = ResidentMemory.Begin();
                layer.Step(variant);
                peaks[i] = ResidentMemory.EndMiB(start);
            }
            layer.Leave(variant);
            result[variant] = Median(peaks);
        }
        return result;
    }

    private void Synchronize()
    {
        if (_options.Device == DeviceType.CUDA)
            cuda.synchronize(_device);
    }

    internal static double Median(IReadOnlyList<double> values)
    {
        double[] sorted = values.OrderBy(v => v).ToArray();
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    /// <summary>One built layer: the frozen base, its adapter and an input that requires grad.</summary>
    private sealed class Case : IDisposable
    {
        private readonly nn.Module<Tensor, Tensor> _base;
        private readonly Tensor _input;

        public Case(LayerBenchmark owner, LayerSpec spec)
        {
            manual_seed(owner._options.Seed);
            (_base, Adapter) = spec.Build(owner._flora, owner._device, owner._options.DType);
            using var draw = randn(spec.InputShape, dtype: ScalarType.Float32);
            _input = draw.to(owner._options.DType, owner._device).requires_grad_(true);
        }

        public FloraLayer Adapter { get; }

        public void Dispose()
        {
            _input.Dispose();
            Adapter.Dispose();
            _base.Dispose();
        }

        /// <summary>max |Δ_factorised(x) − Δ_materialised(x)| / max |Δ_materialised(x)|: both paths must compute the same update.</summary>
        public double UpdateMismatch()
        {
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            Tensor baseOutput = _base.forward(_input);
            Adapter.ForwardPath = FloraForwardPath.Factorised;
            Tensor factorised = Adapter.forward(_input).sub(baseOutput).to(ScalarType.Float32);
            Adapter.ForwardPath = FloraForwardPath.Materialised;
            Tensor materialised = Adapter.forward(_input).sub(baseOutput).to(ScalarType.Float32);
            double scale = materialised.abs().max().item<float>();
            if (scale == 0)
                throw new InvalidOperationException($"the FLoRA update of '{Adapter.Name}' is zero: the benchmark would time no real work");
            return factorised.sub(materialised).abs().max().item<float>() / scale;
        }

        /// <summary>Readies the adapter for <paramref name="variant"/>: its forward path, merged for <see cref="Variant.Merged"/>.</summary>
        public void Enter(Variant variant)
        {
            Adapter.ForwardPath = variant == Variant.Materialised ? FloraForwardPath.Materialised : FloraForwardPath.Factorised;
            if (variant == Variant.Merged)
                Adapter.Merge();
        }

        /// <summary>Sets the gradients to none and unmerges a merged adapter.</summary>
        public void Leave(Variant variant)
        {
            ClearGradients();
            if (Adapter.IsMerged)
                Adapter.Unmerge();
        }

        /// <summary>Forward, sum loss, backward; every tensor made on the way is freed at the end.</summary>
        public void Step(Variant variant)
        {
            using var scope = NewDisposeScope();
            Tensor output = variant == Variant.Base ? _base.forward(_input) : Adapter.forward(_input);
            output.sum().backward();
        }

        /// <summary>zero_grad(set_to_none) of the step's leaves: the input and the adapter's tensors.</summary>
        public void ClearGradients()
        {
            _input.grad = null;
            foreach (var (_, tensor) in Adapter.AdapterTensors)
                tensor.grad = null;
        }

        /// <summary>Checks that the last step took the intended path and reached the tensors it should.</summary>
        public void CheckGradients(Variant variant)
        {
            if (variant is Variant.Factorised or Variant.Materialised)
            {
                var expected = variant == Variant.Factorised ? FloraForwardPath.Factorised : FloraForwardPath.Materialised;
                if (Adapter.LastPath != expected)
                    throw new InvalidOperationException($"'{Adapter.Name}' took the {Adapter.LastPath} path, not {expected}");
                foreach (var (key, tensor) in Adapter.AdapterTensors)
                    RequireGradient(tensor, $"adapter tensor '{key}'", true);
            }
            else
            {
                RequireGradient(Adapter.Core, $"the adapter's core in the {variant} variant", false);
            }
            RequireGradient(_input, "the input", true);
        }

        private static void RequireGradient(Tensor tensor, string what, bool expected)
        {
            using Tensor? grad = tensor.grad;
            if ((grad is not null) != expected)
                throw new InvalidOperationException($"{what} {(expected ? "has no" : "unexpectedly has a")} gradient after backward");
        }
    }
}
