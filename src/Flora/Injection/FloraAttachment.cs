using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Text;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// The adapters attached to one model, and its modules to save: attach freezes every base parameter, injects one adapter
/// per target and makes each module to save trainable (keeping its original values aside); merge, unmerge, save, load,
/// disable and detach act on all of them together. The generated <c>AttachFlora()</c> and <see cref="FloraInjector"/>'s
/// entry points return one. Further named adapters can sit beside the first (<see cref="AddAdapter"/>): the members that
/// speak of "the adapters" act on the active ones.
/// </summary>
public sealed partial class FloraAttachment
{
    // The attachment on each model, whichever entry point made it (the generated AttachFlora() or FloraInjector).
    private static readonly ConditionalWeakTable<nn.Module, FloraAttachment> OnModel = new();
    private readonly List<SavedModule> _savedModules;
    private readonly Dictionary<string, bool> _requiresGrad; // by name: TorchSharp replaces Parameter objects when a model moves
    private readonly FrozenNormLayers _frozenNorms;
    private readonly ForwardScope _forwards;
    private int _disableDepth;
    private IFloraAdapter[] _remergeAfterDisable = Array.Empty<IFloraAdapter>();
    private long _modelCalls;
    private bool _everyAdapterRan;

    private FloraAttachment(nn.Module model, IReadOnlyList<FloraTarget> targets, FloraModelOptions options, FloraMethod method,
        IReadOnlyList<(FloraTarget Target, AdapterLayer Adapter)> adapters, List<SavedModule> savedModules, Dictionary<string, bool> requiresGrad, AdaLoraOptions? adaLora)
    {
        Model = model;
        _floraTargets = targets;
        _options = options;
        _savedModules = savedModules;
        _requiresGrad = requiresGrad;
        ModulesToSave = savedModules.Select(m => m.Source).ToArray();
        _targets = targets.Select(t => new AdaptedTarget(t.Slot)).ToList();
        var first = new NamedAdapter(DefaultAdapterName, method, adapters.Select(a => a.Adapter).ToArray(), adaLora);
        Register(first, adapters);
        Activate(new[] { first });
        _frozenNorms = new FrozenNormLayers(model, savedModules);
        _forwards = new ForwardScope(model, began: _frozenNorms.KeepInEval, ended: OnForwardEnded);
        first.FormGroups(_forwards);
        OnModel.AddOrUpdate(model, this);
    }

    /// <summary>The attachment on <paramref name="model"/> (attached to that model itself, by any entry point), or null.</summary>
    internal static FloraAttachment? Of(nn.Module model) =>
        OnModel.TryGetValue(model, out var attachment) && !attachment.IsDetached ? attachment : null;

    /// <summary>The adapted model.</summary>
    public nn.Module Model { get; }

    /// <summary>The method of the active adapter (of the first active one when several are: see <see cref="ActiveAdapters"/>).</summary>
    public FloraMethod Method => _active[0].Method;

    /// <summary>The active adapters' layers: in target order (adapter by adapter in <see cref="ActiveAdapters"/>' order when several are active).</summary>
    public IReadOnlyList<IFloraAdapter> Adapters => _activeLayers;

    /// <summary>The modules that train fully and are saved whole (PEFT's <c>modules_to_save</c>), in the model's order.</summary>
    public IReadOnlyList<ModuleToSave> ModulesToSave { get; }

    /// <summary>The adapter of the layer at <paramref name="path"/>.</summary>
    public IFloraAdapter this[string path] =>
        Adapters.FirstOrDefault(a => a.Name == path)
        ?? throw new KeyNotFoundException($"No adapter is attached at '{path}'. Attached: {string.Join(", ", Adapters.Select(a => a.Name))}.");

    /// <summary>
    /// The FLoRA adapter of the layer at <paramref name="path"/>, typed: a <see cref="FloraLayer"/> such as
    /// <see cref="FloraConv2d"/>, or for a MultiheadAttention its <see cref="FloraMultiheadAttention"/> (whose two projections
    /// hold FLoRA adapters). Under another method this is a clear error: <see cref="Adapters"/> serves every method.
    /// </summary>
    public TAdapter GetFlora<TAdapter>(string path) where TAdapter : nn.Module
    {
        if (AttentionAt(path) is { } attention) return FloraAttention<TAdapter>(path, attention);
        var adapter = this[path];
        return adapter as TAdapter ?? throw new InvalidOperationException(
            $"'{path}' has a {adapter.Method} adapter ({adapter.GetType().Name}), not a FLoRA {typeof(TAdapter).Name}: the typed properties serve FloraMethod.Flora. " +
            "Use FloraAdapters.All (a list of IFloraAdapter) for every method.");
    }

    /// <summary>The attention wrapper whose projections are targets at <c>{path}.in_proj</c> and <c>{path}.out_proj</c>, or null.</summary>
    private FloraMultiheadAttention? AttentionAt(string path) =>
        _targets.Select(t => t.Slot.Host).OfType<FloraMultiheadAttention>().FirstOrDefault(host => host.Path == path);

    private TAdapter FloraAttention<TAdapter>(string path, FloraMultiheadAttention attention) where TAdapter : nn.Module
    {
        IFloraAdapter? inProjection = attention.InProjection, outProjection = attention.OutProjection;
        if (inProjection is not FloraLayer || outProjection is not FloraLayer)
            throw new InvalidOperationException(
                $"'{path}' is a MultiheadAttention whose projections have {Describe(inProjection is not FloraLayer ? inProjection : outProjection)}, not FLoRA adapters: its typed property " +
                $"({nameof(FloraMultiheadAttention)}) serves FloraMethod.Flora. Use FloraAdapters.All (a list of IFloraAdapter) for every method.");
        return attention as TAdapter ?? throw new InvalidOperationException(
            $"'{path}' is a MultiheadAttention: its FLoRA adapter is a {nameof(FloraMultiheadAttention)}, not a {typeof(TAdapter).Name}.");

        static string Describe(IFloraAdapter? adapter) => adapter is null ? "no adapter" : $"a {adapter.Method} adapter ({adapter.GetType().Name})";
    }

    /// <summary>The number of trainable scalars: every active adapter's and every parameter of the modules to save.</summary>
    public long TrainableParameters => Adapters.Sum(a => a.TrainableParameters) + _savedModules.Sum(m => m.TrainableParameters);

    /// <summary>
    /// Whether adapters' updates sit in the base weights: true when any adapter is merged, through <see cref="Merge"/> or its
    /// own <see cref="IFloraAdapter.Merge"/>. The adapters own that state; this reads it.
    /// </summary>
    public bool IsMerged => _named.Any(n => n.IsMerged);

    /// <summary>Whether <see cref="Detach"/> has run; the attachment can then no longer be used.</summary>
    public bool IsDetached { get; private set; }

    /// <summary>Whether a <see cref="Disable"/> scope is open: the model then computes as the base model.</summary>
    public bool IsDisabled => _disableDepth > 0;

    /// <summary>
    /// Whether adapters may stay unused while the model runs. False (the default): a training forward of the model
    /// (its <c>call(x)</c> in train mode with gradients) after which an adapter has never run since attach throws, and so
    /// do saving and merging once the model ran through <c>call(x)</c> — the usual cause is a layer called with
    /// <c>forward(x)</c>, which skips the hooks that reach its adapter. Set it to true when some targets are legitimately
    /// not used by every forward. <see cref="VerifyAdaptersRun(Tensor)"/> checks one forward on demand.
    /// </summary>
    public bool AllowUnusedAdapters { get; set; }

    /// <summary>
    /// The normalisation layers with running statistics that this attachment keeps frozen (eval mode, statistics of
    /// attach time) because they are not trained and saved (<see cref="FloraModelOptions.SaveNormLayers"/>).
    /// </summary>
    public IReadOnlyList<string> FrozenNormLayers => _frozenNorms.Paths;

    /// <summary>
    /// How many adapters are built together with others once per forward (<see cref="AdapterGroup"/>): alike layers —
    /// same method, weight shape and configuration — share one batched chain. 0 when the model's calls cannot be seen
    /// (no forward hooks on its type), or no two layers are alike.
    /// </summary>
    public int GroupedAdapters => _active.Sum(a => a.Groups.Sum(g => g.Members.Count));

    /// <summary>
    /// Runs <paramref name="sampleInput"/> through the model (<c>call</c>, eval mode, no gradients; the model's mode is
    /// restored) and throws, naming them, when adapters did not run: layers the model calls with <c>forward(x)</c>, which
    /// skips the hooks that reach adapters of members that keep their base layer. A check to run once after attaching.
    /// </summary>
    public void VerifyAdaptersRun(Tensor sampleInput)
    {
        ArgumentNullException.ThrowIfNull(sampleInput);
        if (Model is not nn.Module<Tensor, Tensor> model)
            throw new ArgumentException($"VerifyAdaptersRun(Tensor) calls a Module<Tensor, Tensor>; this model is a {Model.GetType().Name}. " +
                                        "Use VerifyAdaptersRun(Action) with a forward of your own.");
        VerifyAdaptersRun(() =>
        {
            using var output = model.call(sampleInput);
        });
    }

    /// <summary>Like <see cref="VerifyAdaptersRun(Tensor)"/>, with a forward of the caller's (for models of other signatures).</summary>
    public void VerifyAdaptersRun(Action forward)
    {
        ArgumentNullException.ThrowIfNull(forward);
        EnsureAttached();
        var before = _activeLayers.Select(l => l.Calls).ToArray();
        bool training = Model.training;
        Model.eval();
        try
        {
            using (no_grad()) forward();
        }
        finally
        {
            if (training) Model.train();
            _frozenNorms.KeepInEval();
        }
        var idle = _activeLayers.Where((layer, i) => layer.Calls == before[i]).Select(l => l.Name).ToList();
        if (idle.Count > 0) throw AdaptersDidNotRun(idle, "the sample forward ran");
    }

    /// <summary>The trainable tensors (for the optimizer): the active adapters' (PEFT's behaviour), then the parameters of the modules to save.</summary>
    public IEnumerable<Parameter> Parameters() =>
        Adapters.SelectMany(a => a.AdapterTensors.Select(t => t.Tensor)).Concat(_savedModules.SelectMany(m => m.Parameters()));

    /// <summary>
    /// One step of AdaLoRA's rank allocation (PEFT's <c>update_and_allocate</c>), called after each optimizer step and
    /// before the gradients are cleared, with the step's number: it updates the importance scores from the gradients and,
    /// when the budget schedule (<see cref="AdaLoraOptions"/>) says so, masks the least important triplets. Other methods
    /// have nothing to allocate, and it returns at once.
    /// </summary>
    /// <remarks>
    /// Throws <see cref="InvalidOperationException"/> when <see cref="AdaLoraOptions.TotalSteps"/> is unset, when a gradient is
    /// missing (called before backward, or after the gradients were cleared to none), and while the adapters are merged.
    /// </remarks>
    public void UpdateAndAllocate(int globalStep)
    {
        EnsureAttached();
        if (_active.All(a => a.Allocator is null)) return;
        if (IsMerged)
            throw new InvalidOperationException("Cannot allocate AdaLoRA's ranks while the adapters are merged: masking would change ΔW under the merged weights. Call UnmergeFlora() first.");
        foreach (var adapter in _active) adapter.Allocator?.UpdateAndAllocate(globalStep);
    }

    /// <summary>AdaLoRA's rank allocator of the (first) active adapter (null for other methods): its schedule, budgets and scores.</summary>
    internal AdaLoraRankAllocator? RankAllocator => _active[0].Allocator;

    /// <summary>
    /// AdaLoRA's orthogonality regulariser, the term to add to the loss (PEFT adds it in its forward):
    /// <c>OrthRegWeight · mean over P and Q of ‖PᵀP − I‖_F</c> (‖QQᵀ − I‖_F for Q), summed over the active AdaLoRA adapters.
    /// Other methods: a zero scalar (float32, on the device of the first adapter tensor), so that the same training loop
    /// serves every method.
    /// </summary>
    public Tensor OrthogonalRegularization()
    {
        EnsureAttached();
        var allocators = _active.Select(a => a.Allocator).OfType<AdaLoraRankAllocator>().ToArray();
        if (allocators.Length == 0)
        {
            var first = Parameters().FirstOrDefault();
            return first is null ? zeros(Array.Empty<long>()) : zeros(Array.Empty<long>(), dtype: ScalarType.Float32, device: first.device);
        }
        Tensor term = AdaLoraOrthogonality.Term(allocators[0].Adapters, allocators[0].Options.OrthRegWeight);
        for (int i = 1; i < allocators.Length; i++)
        {
            using var more = AdaLoraOrthogonality.Term(allocators[i].Adapters, allocators[i].Options.OrthRegWeight);
            using var previous = term;
            term = previous.Plus(more);
        }
        return term;
    }

    /// <summary>
    /// Freezes every parameter of <paramref name="model"/> and puts an adapter of <paramref name="method"/> in each
    /// target's slot (LoRA and DoRA at the rank the options choose, else the rank whose trainable count is closest to the
    /// target's FLoRA count), and makes each of <paramref name="modulesToSave"/> (plus every normalisation layer with
    /// <see cref="FloraModelOptions.SaveNormLayers"/>) train fully, its original parameters and buffers kept aside for
    /// <see cref="Detach"/>. Everything is validated (layer types, ranks, scale, duplicates, an attachment already there)
    /// before the model is touched. Pfeiffer puts one adapter per block, after the last target of each parent module
    /// (<see cref="PfeifferPlacement"/>). The generated <c>AttachFlora()</c> (through <see cref="Internal.FloraParts"/>) and
    /// <see cref="FloraInjector"/> come here.
    /// </summary>
    internal static FloraAttachment Attach(nn.Module model, IReadOnlyList<FloraTarget> targets, IReadOnlyList<ModuleToSave> modulesToSave,
        FloraModelOptions options, FloraMethod method)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(targets);
        return Attach(model, targets, modulesToSave, options.SaveNormLayers, method, Creator(targets, options, method), options.AdaLora, options);
    }

    /// <summary>How an adapter of <paramref name="method"/> is made for each target with <paramref name="options"/>.</summary>
    private static Func<FloraTarget, AdapterLayer?> Creator(IReadOnlyList<FloraTarget> targets, FloraModelOptions options, FloraMethod method) =>
        method == FloraMethod.Pfeiffer
            ? PfeifferPlacement.Creator(targets, options)
            : target => AdapterDispatch.Create(method, target.Slot.Path, target.Slot.Layer, options, target.Options);

    /// <summary>
    /// Attaches adapters that <paramref name="create"/> makes, one per target (null: the target takes none, as Pfeiffer's
    /// placement decides), and the modules to save, with every check first; AdaLoRA's allocation follows
    /// <paramref name="adaLora"/> (its defaults when null). Adapters added later (<see cref="AddAdapter"/>) inherit
    /// <paramref name="options"/> (the defaults when null).
    /// </summary>
    internal static FloraAttachment Attach(nn.Module model, IReadOnlyList<FloraTarget> targets, IReadOnlyList<ModuleToSave> modulesToSave, bool saveNormLayers,
        FloraMethod method, Func<FloraTarget, AdapterLayer?> create, AdaLoraOptions? adaLora = null, FloraModelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(modulesToSave);
        var duplicate = targets.GroupBy(t => t.Slot.Path).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new ArgumentException($"'{duplicate.Key}' is targeted {duplicate.Count()} times; each layer takes one adapter.");
        foreach (var target in targets)
        {
            if (target.Slot.Layer is IFloraAdapter || IsWrapped(target.Slot))
                throw new InvalidOperationException($"'{target.Slot.Path}' already has an adapter attached. Call DetachFlora() (or Detach()) before attaching again.");
        }
        if (method == FloraMethod.AdaLora) adaLora?.Validate(); // before the model is touched
        var toSave = ModulesToSaveSelection.Resolve(model, targets, modulesToSave, saveNormLayers);
        if (targets.Count == 0 && toSave.Count == 0)
            throw new ArgumentException("Nothing to adapt: no targets and no modules to save. Mark layers with [FloraTarget] (or [FloraModuleToSave]), " +
                                        "or give FloraInjector TargetModules (or ModulesToSave) that match layers.");

        // Create every adapter before touching the model, so that a bad target leaves it unchanged.
        var adapters = CreateAdapters(targets, create);
        var requiresGrad = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.requires_grad);
        var savedModules = toSave.Select(m => new SavedModule(m)).ToList();
        foreach (var parameter in model.parameters()) parameter.requires_grad = false;
        var attachment = new FloraAttachment(model, targets, options ?? new FloraModelOptions(), method, adapters, savedModules, requiresGrad, adaLora);
        foreach (var saved in savedModules) saved.MakeTrainable();
        return attachment;
    }

    /// <summary>One adapter per target that <paramref name="create"/> gives one; none is left undisposed when a target fails.</summary>
    private static List<(FloraTarget Target, AdapterLayer Adapter)> CreateAdapters(IReadOnlyList<FloraTarget> targets, Func<FloraTarget, AdapterLayer?> create)
    {
        var adapters = new List<(FloraTarget Target, AdapterLayer Adapter)>();
        try
        {
            foreach (var target in targets)
                if (create(target) is AdapterLayer adapter) adapters.Add((target, adapter));
        }
        catch
        {
            foreach (var (_, adapter) in adapters) Dispose(adapter);
            throw;
        }
        return adapters;
    }

    /// <summary>
    /// Adds every adapter's update into its base weight; the model then costs exactly the base model. Houlsby and Pfeiffer
    /// adapters cannot be merged (their update is nonlinear): an <see cref="InvalidOperationException"/> naming the method,
    /// before anything changes.
    /// </summary>
    public void Merge()
    {
        EnsureAttached();
        EnsureEnabled("merge");
        EnsureMergeable();
        if (Adapters.Count > 0 && Adapters.All(a => a.IsMerged))
            throw new InvalidOperationException("The adapters are already merged; merging twice would add ΔW twice. Call UnmergeFlora() first.");
        EnsureAdaptersRan("merge");
        MergeAdapters(Adapters);
    }

    /// <summary>Subtracts the merged updates again (the base weights return to float tolerance).</summary>
    public void Unmerge()
    {
        EnsureAttached();
        EnsureEnabled("unmerge");
        EnsureMergeable();
        if (!IsMerged) throw new InvalidOperationException("The adapters are not merged, so there is nothing to unmerge. Call MergeFlora() first.");
        UnmergeAdapters();
    }

    /// <summary>Merges those of <paramref name="adapters"/> not merged yet (some may be, through their own Merge).</summary>
    private static void MergeAdapters(IEnumerable<IFloraAdapter> adapters)
    {
        foreach (var adapter in adapters)
            if (!adapter.IsMerged) adapter.Merge();
    }

    /// <summary>Unmerges every merged adapter (of any named adapter); returns them.</summary>
    private IFloraAdapter[] UnmergeAdapters()
    {
        // In reverse order of merging, as PEFT's unmerge pops its merged adapters: DoRA's merge depends on the weight it finds.
        var merged = _named.SelectMany(n => n.Layers).Where(a => a.IsMerged).Reverse().ToArray();
        foreach (var adapter in merged) adapter.Unmerge();
        return merged;
    }

    /// <summary>
    /// Switches the adapters and the modules to save off until the returned scope is disposed (PEFT's
    /// <c>disable_adapter()</c>): inside it the model computes as the base model — adapters bypassed (merged ones are
    /// unmerged for the while), modules to save and BitFit biases holding their values of attach time. Scopes nest.
    /// Saving, loading, merging and detaching wait until the scope ends.
    /// </summary>
    public IDisposable Disable()
    {
        EnsureAttached();
        EnsureNoMixedBatch("disable the adapters");
        if (_disableDepth++ == 0)
        {
            _remergeAfterDisable = UnmergeAdapters();
            foreach (var target in _targets) target.SetEnabled(false);
            foreach (var saved in _savedModules) saved.SwapWithOriginal();
        }
        return new ScopeEnd(EndDisable);
    }

    private void EndDisable()
    {
        if (--_disableDepth > 0) return;
        foreach (var saved in _savedModules) saved.SwapWithOriginal();
        foreach (var target in _targets) target.SetEnabled(true);
        MergeAdapters(_remergeAfterDisable.Reverse()); // unmerged last to first: merged again first to last
        _remergeAfterDisable = Array.Empty<IFloraAdapter>();
    }

    /// <summary>
    /// Takes every adapter out and gives each base layer back its slot, each module to save its original values, and every
    /// parameter its trainability. Unmerged adapters never changed the base weights, so those are bit-exact; merged ones
    /// are unmerged first (float tolerance), also those merged through their own <see cref="IFloraAdapter.Merge"/>.
    /// </summary>
    public void Detach()
    {
        EnsureAttached();
        EnsureEnabled("detach");
        UnmergeAdapters();
        RemoveAdapters(keepUpdate: false);
    }

    /// <summary>
    /// Merges every update into its base weight and takes the adapters out, leaving a plain model with the fine-tuned
    /// weights and the trained modules to save (PEFT's <c>merge_and_unload</c>): what to save or deploy once training is done.
    /// Refused, with nothing changed, for Houlsby and Pfeiffer adapters, which cannot be merged.
    /// </summary>
    public void MergeAndDetach()
    {
        EnsureAttached();
        EnsureEnabled("merge and detach");
        EnsureMergeable();
        EnsureAdaptersRan("merge");
        MergeAdapters(Adapters);
        RemoveAdapters(keepUpdate: true);
    }

    private void RemoveAdapters(bool keepUpdate)
    {
        if (OnModel.TryGetValue(Model, out var registered) && ReferenceEquals(registered, this)) OnModel.Remove(Model);
        _forwards.Dispose();
        _frozenNorms.Restore(Model);
        _frozenNorms.Dispose();
        for (int i = _targets.Count - 1; i >= 0; i--) _targets[i].TakeOut();
        foreach (var named in _named)
        {
            named.Dispose();
            for (int i = named.Layers.Count - 1; i >= 0; i--)
            {
                // The active adapter's update stays with keepUpdate; an inactive one's was never in the base.
                named.Layers[i].OnDetach(keepUpdate && _active.Contains(named));
                Dispose(named.Layers[i]);
            }
        }
        foreach (var saved in _savedModules)
        {
            if (!keepUpdate) saved.RestoreOriginal();
            saved.Dispose();
        }
        foreach (var (name, parameter) in Model.named_parameters())
            if (_requiresGrad.TryGetValue(name, out bool requiresGrad)) parameter.requires_grad = requiresGrad;
        IsDetached = true;
    }

    /// <summary>The modules to save as the adapter file sees them (path, module, and their tensors).</summary>
    internal IReadOnlyList<SavedModule> SavedModules => _savedModules;

    /// <summary>
    /// Saves the active adapter's tensors, the modules to save (parameters and buffers) and their configuration to a
    /// safetensors file, atomically. With several active adapters name the one to save (<see cref="Save(string, string)"/>).
    /// </summary>
    public void Save(string path)
    {
        EnsureAttached();
        EnsureEnabled("save");
        EnsureSavable("save");
        AdapterFile.Save(ContentOf(SingleActive("save", "Save(path, adapterName)")), path);
    }

    /// <summary>
    /// Loads adapter tensors and modules to save saved from a model with the same targets, method and ranks into the
    /// active adapter; validates everything first. <see cref="LoadAdapter"/> loads a file as a new named adapter.
    /// </summary>
    public void Load(string path)
    {
        EnsureAttached();
        EnsureEnabled("load");
        AdapterFile.Load(ContentOf(SingleActive("load", "SetAdapter(name) first, or LoadAdapter(path, name) for a new adapter")), path);
    }

    /// <summary>
    /// Writes the adapters and modules to save as a Hugging Face PEFT LoRA directory (<c>adapter_config.json</c> and
    /// <c>adapter_model.safetensors</c>) that <c>PeftModel.from_pretrained</c> loads onto the same PyTorch model with the same
    /// outputs. LoRA and DoRA are written as they are; FLoRA as the exact LoRA it equals (rank r_out, α = r_out:
    /// <c>B = U_out</c>, <c>A = s·G ×… U_in, U_k…</c> in the matrix view). BitFit, Houlsby and Pfeiffer, and grouped, dilated or non-zero-padded convolutions, which PEFT's LoRA computes
    /// differently, are refused before anything is written. AdaLoRA is written as PEFT's AdaLoRA directory (peft_type ADALORA,
    /// the kept triplets and the <c>rank_pattern</c>) for Linear and Conv2d targets. The files are written to a temporary directory and moved into place.
    /// With several named adapters the directory is PEFT's multi-adapter layout, as <c>save_pretrained</c> writes it:
    /// <c>"default"</c> at its root, every other adapter in <c>&lt;directory&gt;/&lt;name&gt;/</c>. A MultiheadAttention's
    /// two adapters are written as PEFT's <c>lora.MultiheadAttention</c> (one rank and α for both; out_proj's A halved, as
    /// PEFT applies that update twice: huggingface/peft#3774).
    /// </summary>
    public void SavePeft(string directory) => SavePeft(directory, null);

    /// <summary>Like <see cref="SavePeft(string)"/>, with module names mapped by <paramref name="options"/>.</summary>
    public void SavePeft(string directory, PeftExportOptions? options)
    {
        EnsureAttached();
        EnsureEnabled("export");
        EnsureSavable("export");
        var root = _named.FirstOrDefault(n => n.Name == DefaultAdapterName);
        PeftExporter.Save(Model, _named.OrderBy(n => ReferenceEquals(n, root) ? 0 : 1)
            .Select(n => (ContentOf(n), ReferenceEquals(n, root) ? directory : System.IO.Path.Combine(directory, n.Name))).ToList(), options);
    }

    /// <summary>A table of the adapters and modules to save: layer, method, shape and ranks, trainable parameters, and the total.</summary>
    public override string ToString()
    {
        var rows = Adapters.Select(a => (a.Name, Method: a.Method.ToString(), Detail: a.Describe(), Count: a.TrainableParameters))
            .Concat(_savedModules.Select(m => (Name: m.Path, Method: "saved", Detail: m.Describe(), Count: m.TrainableParameters)))
            .Select(r => (r.Name, r.Method, r.Detail, Count: r.Count.ToString("N0"))).ToList();
        int w0 = Math.Max(5, rows.Max(r => r.Name.Length)), w1 = Math.Max(6, rows.Max(r => r.Method.Length)), w2 = Math.Max(7, rows.Max(r => r.Detail.Length));
        var text = new StringBuilder();
        text.AppendLine($"{"layer".PadRight(w0)}  {"method".PadRight(w1)}  {"adapter".PadRight(w2)}  {"trainable",12}");
        foreach (var r in rows) text.AppendLine($"{r.Name.PadRight(w0)}  {r.Method.PadRight(w1)}  {r.Detail.PadRight(w2)}  {r.Count,12}");
        text.Append($"{"total".PadRight(w0 + w1 + w2 + 4)}  {TrainableParameters,12:N0}");
        return text.ToString();
    }

    /// <summary>At the end of every forward of the model: releases what it built, and checks once that every adapter ran.</summary>
    private void OnForwardEnded()
    {
        foreach (var adapter in _groupsToRelease) adapter.ReleaseGroups();
        _modelCalls++;
        if (_everyAdapterRan || AllowUnusedAdapters) return;
        var idle = IdleAdapters();
        if (idle.Count == 0)
        {
            _everyAdapterRan = true;
            return;
        }
        if (Model.training && is_grad_enabled())
            throw AdaptersDidNotRun(idle, "a training forward of the model ended");
    }

    /// <summary>The adapters that have not run since attach.</summary>
    private List<string> IdleAdapters() => _activeLayers.Where(l => l.Calls == 0).Select(l => l.Name).ToList();

    /// <summary>
    /// Throws when the model ran (its <c>call</c>) while adapters never ran since attach. Calls of single layers (tests,
    /// debugging) and a model that never ran (an adapter loaded to be merged) are no evidence and pass.
    /// </summary>
    private void EnsureAdaptersRan(string action)
    {
        if (AllowUnusedAdapters || _everyAdapterRan || _modelCalls == 0) return;
        var idle = IdleAdapters();
        if (idle.Count == 0) return;
        throw AdaptersDidNotRun(idle, $"the model ran but cannot {action} now");
    }

    private static InvalidOperationException AdaptersDidNotRun(IReadOnlyList<string> layers, string when) => new(
        $"The adapter{(layers.Count == 1 ? "" : "s")} of {string.Join(", ", layers.Take(10).Select(l => $"'{l}'"))}{(layers.Count > 10 ? $" and {layers.Count - 10} more" : "")} " +
        $"never ran since attach, yet {when}: the model calls {(layers.Count == 1 ? "this layer" : "these layers")} with forward(x), which skips the hooks TorchSharp " +
        "runs in call(x), so the base layer computes alone and the adapter never trains. Call the layer with call(x), or annotate the model " +
        "([FloraTarget] members: the generator routes their forward(x) calls too). If these layers are simply not used by every forward, set " +
        "AllowUnusedAdapters = true on the attachment.");

    /// <summary>Saving needs frozen statistics untouched and no bypassed adapter.</summary>
    private void EnsureSavable(string action)
    {
        EnsureAdaptersRan(action);
        _frozenNorms.EnsureUnchanged(action);
    }

    /// <summary>Throws, before anything changes, when an adapter can never be merged (Houlsby, Pfeiffer), naming its method.</summary>
    private void EnsureMergeable()
    {
        foreach (var layer in _activeLayers)
            if (layer.MergeRefusal is string refusal) throw new InvalidOperationException(refusal);
    }

    private void EnsureAttached()
    {
        if (IsDetached) throw new InvalidOperationException("These adapters were detached; attach again to use adapters.");
    }

    private void EnsureEnabled(string action)
    {
        EnsureNoMixedBatch(action);
        if (IsDisabled)
            throw new InvalidOperationException($"Cannot {action} while the adapters are disabled (inside a Disable() scope): the model holds the base values for now. " +
                                                "Dispose the scope first.");
    }

    /// <summary>Whether the slot's parent already holds an adapter around the slot's layer.</summary>
    private static bool IsWrapped(ModuleSlot slot) =>
        ModuleTree.FindChild(slot.Parent, module => ModuleTree.Wraps(module, slot.Layer)).Index >= 0;

    private static void Dispose(AdapterLayer adapter)
    {
        adapter.ReleaseBaseLayer();
        adapter.Dispose();
    }
}
