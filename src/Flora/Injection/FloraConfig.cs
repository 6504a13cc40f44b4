using System;
using System.Collections.Generic;

namespace Flora;

/// <summary>
/// Which layers of a model to adapt by name, for models you cannot annotate (built elsewhere), like PEFT's
/// <c>target_modules</c>. A pattern matches a layer's dotted name when it is a regular expression that matches the
/// whole name, or when the name equals it or ends with <c>"." + pattern</c>.
/// </summary>
public sealed record FloraConfig
{
    /// <summary>Patterns of layer names to adapt (only the layer types of the dispatch table are considered: Linear, Conv1d/2d/3d, ConvTranspose1d/2d/3d, Embedding, MultiheadAttention and registered ones).</summary>
    public IReadOnlyList<string> TargetModules { get; init; } = Array.Empty<string>();
    /// <summary>Patterns of layer names never to adapt, even when a target pattern matches.</summary>
    public IReadOnlyList<string> ExcludeModules { get; init; } = Array.Empty<string>();
    /// <summary>Ranks, R3, scale, dropout and forward path of every target.</summary>
    public FloraModelOptions Defaults { get; init; } = new();
    /// <summary>Per-pattern settings that override <see cref="Defaults"/> for the layers they match (first match wins).</summary>
    public IReadOnlyList<(string Pattern, FloraTargetOptions Options)> Overrides { get; init; } = Array.Empty<(string, FloraTargetOptions)>();
    /// <summary>
    /// Patterns (matched as <see cref="TargetModules"/> are) of modules that train fully and are saved in the adapter file
    /// with their buffers, as PEFT's <c>modules_to_save</c>: a new classifier head, BatchNorm layers, a whole block. Detach
    /// puts their original values back bit-exactly.
    /// </summary>
    public IReadOnlyList<string> ModulesToSave { get; init; } = Array.Empty<string>();
}
