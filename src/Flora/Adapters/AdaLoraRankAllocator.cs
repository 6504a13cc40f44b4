using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// AdaLoRA's rank allocation over one attachment's adapters, exactly as PEFT's <c>RankAllocator</c> and
/// <c>AdaLoraModel.update_and_allocate</c> compute it:
/// <list type="bullet">
/// <item>importance of every element of Q, Λ and P: <c>|p·∇p|</c>; its sensitivity smoothed with β1
/// (<c>Ī = β1·Ī + (1 − β1)·I</c>) and its uncertainty with β2 from the updated sensitivity
/// (<c>Ū = β2·Ū + (1 − β2)·|I − Ī|</c>); an element's score is <c>Ī·Ū</c>;</item>
/// <item>a triplet's score: Λ's entry plus the mean of its row of Q plus the mean of its column of P;</item>
/// <item>the budget, from the sum of the initial ranks to the sum of the target ranks (PEFT's
/// <c>target_r × layers</c>): kept whole for the first <see cref="AdaLoraOptions.TInit"/> steps, then falling as a cubic
/// until <c>TotalSteps − TFinal</c>, applied every <see cref="AdaLoraOptions.DeltaT"/> steps (<see cref="BudgetSchedule"/>);</item>
/// <item>masking: the k-th smallest of all triplet scores (<c>k = initial budget − budget</c>) is the threshold, and every
/// triplet scoring at most that has its Λ entry zeroed (k ≤ 0 masks nothing);</item>
/// <item>at step <c>TotalSteps − TFinal</c> the final allocation (from the scores so far, not updated at that step) and
/// the scores reset; after it every call zeroes the masked triplets again (PEFT's <c>mask_using_rank_pattern</c>).</item>
/// </list>
/// The scores live in tensors beside the parameters (four per parameter, allocated once and updated in place); gradients
/// are read where the optimizer left them (<see cref="FloraAdamW"/>'s views of its flat buffer included). Everything runs
/// without gradient tracking.
/// </summary>
internal sealed class AdaLoraRankAllocator : IDisposable
{
    private static readonly Scalar Zero = 0.0.ToScalar();
    private static readonly Scalar One = 1.0.ToScalar();

    private readonly AdaLoraLayer[] _adapters;
    private readonly Importance?[][] _importance; // per adapter: Q, P, Λ (null until the first update, and after a reset)
    private readonly Scalar _beta1, _oneMinusBeta1, _beta2, _oneMinusBeta2;

    public AdaLoraRankAllocator(IReadOnlyList<AdaLoraLayer> adapters, AdaLoraOptions options)
    {
        ArgumentNullException.ThrowIfNull(adapters);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _adapters = adapters.ToArray();
        Options = options;
        InitialBudget = _adapters.Sum(a => a.Config.Rank);
        TargetBudget = _adapters.Sum(a => a.Config.TargetRank);
        _importance = _adapters.Select(_ => new Importance?[3]).ToArray();
        _beta1 = options.Beta1.ToScalar();
        _oneMinusBeta1 = (1 - options.Beta1).ToScalar();
        _beta2 = options.Beta2.ToScalar();
        _oneMinusBeta2 = (1 - options.Beta2).ToScalar();
    }

    /// <summary>The schedule and the smoothing.</summary>
    public AdaLoraOptions Options { get; }

    /// <summary>The adapters allocated over, in target order.</summary>
    public IReadOnlyList<AdaLoraLayer> Adapters => _adapters;

    /// <summary>The budget before any masking: the sum of the initial ranks (PEFT's <c>init_bgt</c>).</summary>
    public int InitialBudget { get; }

    /// <summary>The final budget: the sum of the target ranks (PEFT's <c>target_bgt</c>).</summary>
    public int TargetBudget { get; }

    /// <summary>Whether importance scores are held (after an update, until the final allocation resets them).</summary>
    public bool HasScores => _importance.Length > 0 && _importance[0][0] is not null;

    /// <summary>
    /// PEFT's <c>budget_schedule</c>: the budget at <paramref name="step"/> and whether that step masks. Up to
    /// <c>TInit</c> the initial budget, unmasked; after <c>TotalSteps − TFinal</c> the target budget, masked; in between
    /// <c>⌊target + (initial − target)·(1 − (step − TInit)/(TotalSteps − TFinal − TInit))³⌋</c>, masked when step is a
    /// multiple of <c>DeltaT</c>.
    /// </summary>
    public (int Budget, bool Mask) BudgetSchedule(int step)
    {
        int total = TotalSteps();
        int tinit = Options.TInit, tfinal = Options.TFinal;
        if (step <= tinit) return (InitialBudget, false);
        if (step > total - tfinal) return (TargetBudget, true);
        double remaining = 1 - (double)(step - tinit) / (total - tfinal - tinit);
        int budget = (int)((InitialBudget - TargetBudget) * Math.Pow(remaining, 3) + TargetBudget);
        return (budget, step % Options.DeltaT == 0);
    }

    /// <summary>
    /// One step of the allocation (PEFT's <c>update_and_allocate</c>), after the optimizer's step and before the
    /// gradients are cleared: before <c>TotalSteps − TFinal</c> the scores take this step's gradients and the schedule may
    /// mask; at it the final allocation; after it the final mask again.
    /// </summary>
    public void UpdateAndAllocate(int step)
    {
        int final = TotalSteps() - Options.TFinal;
        using var scope = NewDisposeScope();
        using var guard = no_grad();
        if (step < final)
        {
            UpdateImportance(step);
            var (budget, mask) = BudgetSchedule(step);
            if (mask) MaskToBudget(budget, step);
        }
        else if (step == final)
        {
            MaskToBudget(BudgetSchedule(step).Budget, step);
            ResetImportance();
        }
        else
        {
            foreach (var adapter in _adapters) adapter.ApplyRankPattern();
        }
    }

    /// <summary>Forgets every score (PEFT's <c>reset_ipt</c>); the next update starts from zero.</summary>
    public void ResetImportance()
    {
        foreach (var row in _importance)
            for (int i = 0; i < row.Length; i++)
            {
                row[i]?.Dispose();
                row[i] = null;
            }
    }

    private int TotalSteps() => Options.TotalSteps ?? throw new InvalidOperationException(
        "AdaLoRA's rank allocation needs the training's length: set FloraModelOptions.AdaLora.TotalSteps to the number of optimizer steps " +
        "(PEFT's total_step) when attaching, e.g. new FloraModelOptions { AdaLora = new AdaLoraOptions { TotalSteps = epochs * batchesPerEpoch } }.");

    /// <summary>Q, P and Λ of <paramref name="adapter"/>, in the order the scores are kept.</summary>
    private static (string Key, Parameter Tensor)[] Triplet(AdaLoraLayer adapter) =>
        new[] { ("lora_A", adapter.LoraA), ("lora_B", adapter.LoraB), ("lora_E", adapter.LoraE) };

    /// <summary>PEFT's <c>update_ipt</c>: every gradient is read first, so a missing one changes no score.</summary>
    private void UpdateImportance(int step)
    {
        var gradients = new Tensor[_adapters.Length][];
        for (int i = 0; i < _adapters.Length; i++)
        {
            var triplet = Triplet(_adapters[i]);
            gradients[i] = new Tensor[triplet.Length];
            for (int j = 0; j < triplet.Length; j++)
            {
                gradients[i][j] = triplet[j].Tensor.grad ?? throw new InvalidOperationException(
                    $"AdaLoRA's importance scores at step {step} need the gradient of '{_adapters[i].Name}.{triplet[j].Key}', which has none. Call " +
                    "UpdateAndAllocate after loss.backward() and the optimizer's step, before the gradients are cleared (zero_grad), as PEFT's update_and_allocate.");
            }
        }
        for (int i = 0; i < _adapters.Length; i++)
        {
            var triplet = Triplet(_adapters[i]);
            for (int j = 0; j < triplet.Length; j++)
            {
                Parameter parameter = triplet[j].Tensor;
                Importance importance = _importance[i][j] ??= new Importance(parameter);
                importance.Update(parameter, gradients[i][j], this);
            }
        }
    }

    /// <summary>PEFT's <c>mask_to_budget</c>: zeroes Λ of every triplet scoring at most the k-th smallest score, records the patterns.</summary>
    private void MaskToBudget(int budget, int step)
    {
        if (!HasScores)
            throw new InvalidOperationException($"AdaLoRA cannot allocate the budget at step {step}: no importance scores have been gathered yet. Call UpdateAndAllocate " +
                                                $"after every optimizer step from the first, so that the scores exist before step TotalSteps − TFinal ({TotalSteps() - Options.TFinal}).");
        var scores = new Tensor[_adapters.Length];
        for (int i = 0; i < _adapters.Length; i++) scores[i] = TripletScores(i);
        long k = InitialBudget - budget;
        if (k <= 0)
        {
            foreach (var adapter in _adapters) adapter.SetRankPattern(Enumerable.Repeat(true, adapter.Config.Rank).ToArray());
            return;
        }
        var all = cat(scores);
        var (threshold, _) = all.kthvalue(Math.Min(k, all.numel()), 0, false);
        for (int i = 0; i < _adapters.Length; i++)
        {
            var masked = scores[i].le(threshold);
            _adapters[i].LoraE.masked_fill_(masked.view(-1, 1), Zero);
            var kept = masked.logical_not().cpu();
            _adapters[i].SetRankPattern(kept.data<bool>().ToArray());
        }
    }

    /// <summary>PEFT's triplet score: Λ's element score plus the sum of the means of Q's row and P's column scores.</summary>
    private Tensor TripletScores(int i)
    {
        var row = _importance[i];
        var meanA = row[0]!.Score().mean(new long[] { 1 }, keepdim: true);
        var meanB = row[1]!.Score().mean(new long[] { 0 }, keepdim: false).view(-1, 1);
        var vectors = cat(new[] { meanA, meanB }, 1).sum(1, keepdim: false);
        return row[2]!.Score().view(-1).add(vectors, One);
    }

    public void Dispose()
    {
        ResetImportance();
        _beta1.Dispose();
        _oneMinusBeta1.Dispose();
        _beta2.Dispose();
        _oneMinusBeta2.Dispose();
    }

    /// <summary>
    /// One parameter's importance (its latest <c>|p·∇p|</c>), smoothed sensitivity and uncertainty, and a scratch tensor:
    /// allocated once, on the parameter's device and dtype (and moved with it), updated in place with PEFT's roundings.
    /// </summary>
    private sealed class Importance : IDisposable
    {
        private Tensor _current, _sensitivity, _uncertainty, _scratch;

        public Importance(Tensor like)
        {
            _current = zeros_like(like).DetachFromDisposeScope();
            _sensitivity = zeros_like(like).DetachFromDisposeScope();
            _uncertainty = zeros_like(like).DetachFromDisposeScope();
            _scratch = zeros_like(like).DetachFromDisposeScope();
        }

        public void Update(Tensor parameter, Tensor gradient, AdaLoraRankAllocator owner)
        {
            Follow(parameter);
            // I = |p·∇p|
            _current.copy_(parameter);
            _current.mul_(gradient);
            _current.abs_();
            // Ī = β1·Ī + (1 − β1)·I, each product rounded, then their sum
            _sensitivity.mul_(owner._beta1);
            _scratch.copy_(_current);
            _scratch.mul_(owner._oneMinusBeta1);
            _sensitivity.add_(_scratch, One);
            // Ū = β2·Ū + (1 − β2)·|I − Ī|
            _scratch.copy_(_sensitivity);
            _scratch.neg_();
            _scratch.add_(_current, One);
            _scratch.abs_();
            _scratch.mul_(owner._oneMinusBeta2);
            _uncertainty.mul_(owner._beta2);
            _uncertainty.add_(_scratch, One);
        }

        /// <summary>The element scores <c>Ī·Ū</c>.</summary>
        public Tensor Score() => _sensitivity.mul(_uncertainty);

        /// <summary>Moves the state to the parameter's device and dtype when the model moved.</summary>
        private void Follow(Tensor parameter)
        {
            if (_current.device_type == parameter.device_type && _current.device_index == parameter.device_index && _current.dtype == parameter.dtype) return;
            _current = Move(_current, parameter);
            _sensitivity = Move(_sensitivity, parameter);
            _uncertainty = Move(_uncertainty, parameter);
            _scratch = Move(_scratch, parameter);
        }

        private static Tensor Move(Tensor state, Tensor parameter)
        {
            using (state) return state.to(parameter.dtype, parameter.device).DetachFromDisposeScope();
        }

        public void Dispose()
        {
            _current.Dispose();
            _sensitivity.Dispose();
            _uncertainty.Dispose();
            _scratch.Dispose();
        }
    }
}
