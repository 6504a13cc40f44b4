using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using Flora.Comparison;
using Flora.Reports;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora.Bench;

/// <summary>
/// One method of the model benchmark: a training method of the main job (<see cref="MethodPlan.Default"/>: its
/// adapters, budget and learning rate), or one side of the inference pair (the base model, or the base with FLoRA merged in).
/// </summary>
/// <param name="Key">The name <c>--methods</c> takes, e.g. <c>flora-a</c>.</param>
/// <param name="Label">The label in tables.</param>
/// <param name="Plan">The main job's plan of a training method; for <c>merged-fwd</c> the FLoRA plan that is merged; null for <c>base-fwd</c>.</param>
/// <param name="Training">Timed as a training step (true) or as a forward pass without gradients (false).</param>
internal sealed record ModelMethod(string Key, string Label, MethodPlan? Plan, bool Training)
{
    public const string BaseForward = "base-fwd";
    public const string MergedForward = "merged-fwd";

    /// <summary>The training methods of the main job in its order, then the inference pair.</summary>
    public static IReadOnlyList<ModelMethod> All()
    {
        IReadOnlyList<MethodPlan> plans = MethodPlan.Default();
        var methods = plans.Select(p => new ModelMethod(KeyOf(p), p.Label, p, Training: true)).ToList();
        MethodPlan merged = plans.First(p => p.Method == FloraMethod.Flora);
        methods.Add(new ModelMethod(BaseForward, "Base model (forward only)", null, Training: false));
        methods.Add(new ModelMethod(MergedForward, merged.Label + " merged (forward only)", merged, Training: false));
        return methods;
    }

    private static string KeyOf(MethodPlan plan) => plan.Kind switch
    {
        MethodKind.FullFineTuning => "full",
        MethodKind.BitFit => "bitfit",
        _ => plan.Method is FloraMethod method
            ? method.ToString().ToLowerInvariant() + (plan.Budget is string budget ? "-" + budget.ToLowerInvariant() : "")
            : plan.Label.ToLowerInvariant().Replace(' ', '-'),
    };
}

/// <summary>The timings of one method of the model benchmark.</summary>
internal sealed record ModelResult(ModelMethod Method, long TrainableParameters, long TotalParameters, double MedianMs, double MinMs,
                                   IReadOnlyList<double> SamplesMs, int Batch)
{
    /// <summary>Images per second at the median step.</summary>
    public double ImagesPerSecond => Batch / (MedianMs / 1000.0);

    /// <summary>Peak resident-memory growth of one step in MiB, when measured.</summary>
    public double? PeakMiB { get; set; }
}

/// <summary>
/// Times one step of the main job's network (<see cref="TinyConvNeXt"/>) per method, on one fixed batch of random
/// 1×28×28 images with random labels. A training step is what the main job's trainer does per batch: forward,
/// cross-entropy, backward, gradient clipping (<see cref="TrainSettings.ClipNorm"/>) and a step of <see cref="FloraAdamW"/>
/// (the main job's optimizer, with <see cref="TrainSettings.WeightDecay"/>), on the parameters the method trains (all of
/// them for full fine-tuning, the generated <c>FloraParameters()</c> otherwise). Gradients are set to none before
/// each step, outside the clock. The inference pair runs the forward only, in evaluation mode without gradients.
/// Every method has its own model, built from the same seed, so the base weights are the same in all of them.
/// </summary>
internal sealed class ModelBenchmark
{
    private readonly BenchOptions _options;
    private readonly Device _device;

    public ModelBenchmark(BenchOptions options)
    {
        _options = options;
        _device = new Device(options.Device, options.Device == DeviceType.CUDA ? 0 : -1);
        IReadOnlyList<ModelMethod> all = ModelMethod.All();
        Methods = options.Methods is IReadOnlyList<string> keys ? all.Where(m => keys.Contains(m.Key)).ToArray() : all;
    }

    /// <summary>Every method's key, for <c>--methods</c>.</summary>
    public static string[] MethodKeys => ModelMethod.All().Select(m => m.Key).ToArray();

    /// <summary>The methods this run times, in table order.</summary>
    public IReadOnlyList<ModelMethod> Methods { get; }

    /// <summary>
    /// Times every method, interleaved: each round runs one step of every method, in an order rotated from round to
    /// round, so that drift of the machine's speed falls on all methods alike. Warm-up rounds first (they also create
    /// the optimizer's state), then the timed rounds. After the first round each training method is checked: a finite loss,
    /// a gradient on every parameter it trains and on none it freezes.
    /// </summary>
    public IReadOnlyList<ModelResult> Time()
    {
        using var batch = new Batch(this);
        var cases = Methods.Select(m => new Case(this, m)).ToArray();
        try
        {
            var samples = cases.ToDictionary(c => c, _ => new double[_options.Iterations]);
            for (int round = 0; round < _options.Warmup + _options.Iterations; round++)
            {
                int timed = round - _options.Warmup;
                for (int k = 0; k < cases.Length; k++)
                {
                    Case method = cases[(k + round) % cases.Length];
                    method.ClearGradients();
                    Synchronize();
                    long start = Stopwatch.GetTimestamp();
                    method.Step(batch, out Tensor? loss);
                    Synchronize();
                    double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                    using (loss)
                    {
                        if (timed >= 0)
                            samples[method][timed] = ms;
                        if (round == 0)
                            method.Check(loss);
                    }
                }
            }
            return cases.Select(c => new ModelResult(c.Method, c.TrainableParameters, c.TotalParameters, LayerBenchmark.Median(samples[c]),
                                                     samples[c].Min(), samples[c], _options.Batch)).ToArray();
        }
        finally
        {
            foreach (Case c in cases)
                c.Dispose();
        }
    }

    /// <summary>
    /// Each method's peak resident-memory growth during one step (median of three), after one untimed step (which
    /// creates the optimizer's state). CPU only; meant for the process <see cref="ResidentMemory"/> starts.
    /// </summary>
    public IEnumerable<(int Row, string Key, double MiB)> MeasureMemory()
    {
        using var batch = new Batch(this);
        for (int i = 0; i < Methods.Count; i++)
        {
            using var method = new Case(this, Methods[i]);
            method.ClearGradients();
            method.Step(batch, out Tensor? first);
            first?.Dispose();
            var peaks = new double[3];
            for (int j = 0; j < peaks.Length; j++)
            {
                method.ClearGradients();
                long start = ResidentMemory.Begin();
                method.Step(batch, out Tensor? loss);
                peaks[j] = ResidentMemory.EndMiB(start);
                loss?.Dispose();
            }
            yield return (i, Methods[i].Key, LayerBenchmark.Median(peaks));
        }
    }

    private void Synchronize()
    {
        if (_options.Device == DeviceType.CUDA)
            cuda.synchronize(_device);
    }

    /// <summary>The one batch every step uses: random images (standard normal) and random labels of the 10 classes.</summary>
    private sealed class Batch : IDisposable
    {
        public Batch(ModelBenchmark owner)
        {
            manual_seed(owner._options.Seed + 1);
            using var images = randn(new long[] { owner._options.Batch, 1, 28, 28 }, dtype: ScalarType.Float32);
            using var labels = randint(0, 10, new long[] { owner._options.Batch }, dtype: ScalarType.Int64);
            Images = images.to(owner._options.DType, owner._device);
            Labels = labels.to(owner._device);
        }

        public Tensor Images { get; }

        public Tensor Labels { get; }

        public void Dispose()
        {
            Images.Dispose();
            Labels.Dispose();
        }
    }

    /// <summary>One method's model, what it trains and its optimizer.</summary>
    private sealed class Case : IDisposable
    {
        private readonly TinyConvNeXt _model;
        private readonly Parameter[] _trainable;
        private readonly FloraAdamW? _optimizer;
        private readonly double _clipNorm;

        public Case(ModelBenchmark owner, ModelMethod method)
        {
            Method = method;
            BenchOptions options = owner._options;
            manual_seed(options.Seed);
            _model = new TinyConvNeXt(options.Width);
            _model.to(owner._device);
            if (options.DType != ScalarType.Float32)
                _model.to(options.DType);
            var settings = new TrainSettings();
            _clipNorm = settings.ClipNorm;
            if (method.Training)
            {
                MethodPlan plan = method.Plan!;
                if (plan.Method is FloraMethod adapters)
                {
                    _model.AttachFlora(adapters, plan.Defaults);
                    _trainable = _model.FloraParameters().ToArray();
                }
                else
                {
                    _trainable = _model.parameters().ToArray();
                }
                _model.train();
                _optimizer = new FloraAdamW(_trainable, plan.LearningRate, weightDecay: settings.WeightDecay);
            }
            else
            {
                if (method.Plan is MethodPlan merged)
                {
                    var attached = _model.AttachFlora(merged.Method!.Value, merged.Defaults);
                    using (no_grad())
                    {
                        // The cores start at zero; random values make the merge change the weights (the cost is the same).
                        foreach (IFloraAdapter adapter in attached.All)
                            if (adapter is FloraLayer flora)
                            {
                                using var draw = randn(flora.Core.shape, dtype: ScalarType.Float32);
                                using var scaled = draw.mul(0.01);
                                using var converted = scaled.to(flora.Core.dtype, flora.Core.device);
                                flora.Core.copy_(converted);
                            }
                    }
                    _model.MergeFlora();
                }
                _trainable = Array.Empty<Parameter>();
                _model.eval();
            }
            TrainableParameters = _trainable.Sum(p => p.numel());
            TotalParameters = _model.parameters().Sum(p => p.numel());
        }

        public ModelMethod Method { get; }

        public long TrainableParameters { get; }

        public long TotalParameters { get; }

        /// <summary>One step; <paramref name="loss"/> is the training loss (the caller disposes it), null for a forward pass.</summary>
        public void Step(Batch batch, out Tensor? loss)
        {
            if (_optimizer is null)
            {
                using var noGrad = no_grad();
                using var inferenceScope = NewDisposeScope();
                _model.call(batch.Images);
                loss = null;
                return;
            }
            using var scope = NewDisposeScope();
            Tensor value = nn.functional.cross_entropy(_model.call(batch.Images), batch.Labels);
            value.backward();
            using (_optimizer.ClipGradientNorm(_clipNorm)) { }
            _optimizer.Step();
            loss = value.detach().MoveToOuterDisposeScope();
        }

        /// <summary>Zeroes the trained parameters' gradients (the optimizer's buffers; set to none without one).</summary>
        public void ClearGradients()
        {
            if (_optimizer is not null)
            {
                _optimizer.ZeroGrad();
                return;
            }
            foreach (Parameter parameter in _trainable)
                parameter.grad = null;
        }

        /// <summary>A finite loss; a gradient on every trained parameter and none on a frozen one.</summary>
        public void Check(Tensor? loss)
        {
            if (!Method.Training)
                return;
            using Tensor asFloat = loss!.to(ScalarType.Float32);
            float value = asFloat.item<float>();
            if (!float.IsFinite(value))
                throw new InvalidOperationException($"{Method.Label}: the loss is {value}");
            var trained = new HashSet<IntPtr>(_trainable.Select(p => p.Handle));
            foreach (var (name, parameter) in _model.named_parameters())
            {
                using Tensor? grad = parameter.grad;
                bool expected = trained.Contains(parameter.Handle);
                if ((grad is not null) != expected)
                    throw new InvalidOperationException($"{Method.Label}: parameter '{name}' {(expected ? "has no" : "unexpectedly has a")} gradient after backward");
            }
        }

        public void Dispose()
        {
            _optimizer?.Dispose();
            _model.Dispose();
        }
    }
}
