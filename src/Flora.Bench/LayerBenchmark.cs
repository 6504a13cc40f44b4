using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace Flora.Bench;

/// <summary>What is timed for each layer shape, in table order.</summary>
internal enum Variant
{
    /// <summary>The frozen base layer alone.</summary>
    Base,
    /// <summary>FLoRA, factorised forward.</summary>
    Factorised,
    /// <summary>FLoRA, materialised ΔW (the authors' approach).</summary>
    Materialised,
    /// <summary>FLoRA, one layer call with W0 + ΔW in place of the base layer's.</summary>
    Fused,
    /// <summary>LoRA at the rank matched to the FLoRA budget.</summary>
    Lora,
    /// <summary>DoRA at the rank matched to the FLoRA budget.</summary>
    Dora,
    /// <summary>FLoRA merged into the base weight.</summary>
    Merged,
}

/// <summary>The timings of one variant of one layer.</summary>
internal sealed record VariantResult(Variant Variant, double MedianMs, double MinMs, IReadOnlyList<double> SamplesMs)
{
    /// <summary>Peak resident-memory growth of one step in MiB, when measured.</summary>
    public double? PeakMiB { get; set; }
}

/// <summary>One adapter of a layer: its settings, trainable count and the forward path its timed steps took.</summary>
internal sealed record AdapterInfo(string Describe, long Parameters, FloraForwardPath? PathTaken);

/// <summary>The results of one layer shape.</summary>
internal sealed record LayerResult(LayerSpec Spec, AdapterInfo Flora, AdapterInfo Lora, AdapterInfo Dora, FloraCostEstimate Cost,
                                   double UpdateMismatch, IReadOnlyList<VariantResult> Variants)
{
    public FloraForwardPath Auto => Cost.Cheapest();

    /// <summary>Share of the machine's CPU time other processes took while this layer was timed, in percent (Linux).</summary>
    public double? OthersCpuPercent { get; set; }

    /// <summary>The variant's result, or null when it was not run (<c>--variants</c>).</summary>
    public VariantResult? this[Variant variant] => Variants.FirstOrDefault(v => v.Variant == variant);

    /// <summary>The variant's median over the base's, or null when either was not run.</summary>
    public double? Ratio(Variant variant) =>
        this[variant] is VariantResult v && this[Variant.Base] is VariantResult b ? v.MedianMs / b.MedianMs : null;
}

/// <summary>
/// Times one training step — forward, a sum loss, backward — of a layer shape in up to seven variants. In every variant
/// the input requires grad, so backward runs through the layer; the base layer's parameters are frozen and the
/// adapters' tensors are trainable, as in fine-tuning. Gradients are set to none before each step (zero_grad(set_to_none)).
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

    public static readonly Variant[] AllVariants = { Variant.Base, Variant.Factorised, Variant.Materialised, Variant.Fused, Variant.Lora, Variant.Dora, Variant.Merged };

    /// <summary>The variants this run times (<c>--variants</c>), in table order.</summary>
    public IReadOnlyList<Variant> Variants => _options.Variants;

    /// <summary>
    /// Times every chosen variant of <paramref name="spec"/>. The variants are interleaved: each round runs every
    /// variant once, in an order rotated from round to round, so that drift of the machine's speed (other load, clocks)
    /// falls on all variants alike. Warm-up rounds first, then the timed rounds. Merging before and unmerging after
    /// a merged step happen outside the clock.
    /// </summary>
    public LayerResult Time(LayerSpec spec)
    {
        using var layer = new Case(this, spec);
        IReadOnlyList<Variant> variants = Variants;
        double mismatch = layer.CheckUpdates(variants);
        var samples = variants.ToDictionary(v => v, _ => new double[_options.Iterations]);
        for (int round = 0; round < _options.Warmup + _options.Iterations; round++)
        {
            int timed = round - _options.Warmup;
            for (int k = 0; k < variants.Count; k++)
            {
                Variant variant = variants[(k + round) % variants.Count];
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
        var results = variants.Select(v => new VariantResult(v, Median(samples[v]), samples[v].Min(), samples[v])).ToList();
        LayerAdapters a = layer.Adapters;
        return new LayerResult(spec,
            new AdapterInfo(a.Flora.Describe(), a.Flora.TrainableParameters, null),
            new AdapterInfo(a.Lora.Describe(), a.Lora.TrainableParameters, variants.Contains(Variant.Lora) ? a.Lora.LastPath : null),
            new AdapterInfo(a.Dora.Describe(), a.Dora.TrainableParameters, variants.Contains(Variant.Dora) ? a.Dora.LastPath : null),
            a.Flora.EstimateCost(spec.InputShape), mismatch, results);
    }

    /// <summary>
    /// Untimed passes over every layer and chosen variant before any timing — at least one, repeated until
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
                foreach (Variant variant in Variants)
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
    /// Each chosen variant's peak resident-memory growth during one step (median of three), after one untimed step.
    /// CPU only; meant for a process started with glibc's mmap threshold fixed (see <see cref="ResidentMemory"/>).
    /// </summary>
    public IReadOnlyDictionary<Variant, double> MeasureMemory(LayerSpec spec)
    {
        using var layer = new Case(this, spec);
        var result = new Dictionary<Variant, double>();
        foreach (Variant variant in Variants)
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

    /// <summary>One built layer: the frozen base, its three adapters and an input that requires grad.</summary>
    private sealed class Case : IDisposable
    {
        private readonly Tensor _input;

        public Case(LayerBenchmark owner, LayerSpec spec)
        {
            manual_seed(owner._options.Seed);
            Adapters = spec.Build(owner._flora, owner._options.LoraPath, owner._device, owner._options.DType);
            using var draw = randn(spec.InputShape, dtype: ScalarType.Float32);
            _input = draw.to(owner._options.DType, owner._device).requires_grad_(true);
        }

        public LayerAdapters Adapters { get; }

        private AdapterLayer[] All => new AdapterLayer[] { Adapters.Flora, Adapters.Lora, Adapters.Dora };

        public void Dispose()
        {
            _input.Dispose();
            foreach (AdapterLayer adapter in All)
                adapter.Dispose();
            Adapters.Base.Dispose();
        }

        /// <summary>
        /// Checks that the update of every adapter a chosen variant runs is non-zero (the benchmark must time real work) and
        /// returns the largest of max |Δ_path(x) − Δ_materialised(x)| / max |Δ_materialised(x)| over FLoRA's factorised and
        /// fused paths (every path must compute the same update), or NaN when no FLoRA variant is chosen. Adapters of variants not chosen are left alone, so that a
        /// process timing one variant allocates only what that variant needs (memory is measured per process on CUDA).
        /// </summary>
        public double CheckUpdates(IReadOnlyList<Variant> variants)
        {
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            // Two samples of the batch are enough to compare paths, and keep the check's tensors out of the memory
            // measured per process on CUDA (the caching allocator would keep a full-batch check's reserve).
            Tensor input = _input.narrow(0, 0, System.Math.Min(2, _input.shape[0]));
            Tensor baseOutput = Adapters.Base.forward(input);
            double mismatch = double.NaN;
            if (variants.Any(v => v is Variant.Factorised or Variant.Materialised or Variant.Fused or Variant.Merged))
            {
                FloraLayer flora = Adapters.Flora;
                Tensor UpdateOn(FloraForwardPath path)
                {
                    flora.ForwardPath = path;
                    return flora.forward(input).sub(baseOutput).to(ScalarType.Float32);
                }
                Tensor materialised = UpdateOn(FloraForwardPath.Materialised);
                double scale = materialised.abs().max().item<float>();
                if (scale == 0)
                    throw new InvalidOperationException($"the FLoRA update of '{flora.Name}' is zero: the benchmark would time no real work");
                mismatch = new[] { FloraForwardPath.Factorised, FloraForwardPath.Fused }
                    .Max(path => UpdateOn(path).sub(materialised).abs().max().item<float>() / scale);
            }
            foreach (var (variant, adapter) in new[] { (Variant.Lora, Adapters.Lora), (Variant.Dora, Adapters.Dora) })
            {
                if (!variants.Contains(variant))
                    continue;
                Tensor update = adapter.forward(input).sub(baseOutput).to(ScalarType.Float32);
                if (update.abs().max().item<float>() == 0)
                    throw new InvalidOperationException($"the {adapter.Method} update of '{adapter.Name}' is zero: the benchmark would time no real work");
            }
            return mismatch;
        }

        /// <summary>Readies the adapters for <paramref name="variant"/>: FLoRA's forward path, merged for <see cref="Variant.Merged"/>.</summary>
        public void Enter(Variant variant)
        {
            Adapters.Flora.ForwardPath = PathOf(variant) ?? FloraForwardPath.Factorised;
            if (variant == Variant.Merged)
                Adapters.Flora.Merge();
        }

        /// <summary>Sets the gradients to none and unmerges a merged adapter.</summary>
        public void Leave(Variant variant)
        {
            ClearGradients();
            if (Adapters.Flora.IsMerged)
                Adapters.Flora.Unmerge();
        }

        /// <summary>The FLoRA path a FLoRA variant runs, or null for the others.</summary>
        private static FloraForwardPath? PathOf(Variant variant) => variant switch
        {
            Variant.Factorised => FloraForwardPath.Factorised,
            Variant.Materialised => FloraForwardPath.Materialised,
            Variant.Fused => FloraForwardPath.Fused,
            _ => null,
        };

        /// <summary>The module whose forward <paramref name="variant"/> runs.</summary>
        private nn.Module<Tensor, Tensor> ModuleOf(Variant variant) => variant switch
        {
            Variant.Base => Adapters.Base,
            Variant.Lora => Adapters.Lora,
            Variant.Dora => Adapters.Dora,
            _ => Adapters.Flora,
        };

        /// <summary>The adapter whose tensors <paramref name="variant"/> trains, or null for base and merged.</summary>
        private AdapterLayer? TrainedBy(Variant variant) => variant switch
        {
            Variant.Factorised or Variant.Materialised or Variant.Fused => Adapters.Flora,
            Variant.Lora => Adapters.Lora,
            Variant.Dora => Adapters.Dora,
            _ => null,
        };

        /// <summary>Forward, sum loss, backward; every tensor made on the way is freed at the end.</summary>
        public void Step(Variant variant)
        {
            using var scope = NewDisposeScope();
            Tensor output = ModuleOf(variant).forward(_input);
            output.sum().backward();
        }

        /// <summary>zero_grad(set_to_none) of the step's leaves: the input and every adapter's tensors.</summary>
        public void ClearGradients()
        {
            _input.grad = null;
            foreach (AdapterLayer adapter in All)
                foreach (var (_, tensor) in adapter.AdapterTensors)
                    tensor.grad = null;
        }

        /// <summary>Checks that the last step took the intended path and reached exactly the tensors it should.</summary>
        public void CheckGradients(Variant variant)
        {
            if (PathOf(variant) is FloraForwardPath expected)
            {
                if (Adapters.Flora.LastPath != expected)
                    throw new InvalidOperationException($"'{Adapters.Flora.Name}' took the {Adapters.Flora.LastPath} path, not {expected}");
            }
            AdapterLayer? trained = TrainedBy(variant);
            foreach (AdapterLayer adapter in All)
                foreach (var (key, tensor) in adapter.AdapterTensors)
                    RequireGradient(tensor, $"{adapter.Method} tensor '{key}' in the {variant} variant", ReferenceEquals(adapter, trained));
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
