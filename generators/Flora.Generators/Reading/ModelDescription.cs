// Shared by the generator and the analyzers (linked source).
using System;
using System.Collections.Generic;
using Flora.Generators.Model;
using Microsoft.CodeAnalysis;

namespace Flora.Generators
{
    /// <summary>
    /// What <see cref="ModelReader"/> reads from one model type: its settings, its parts and its compile-time trainable
    /// counts. The generator turns it into a <see cref="ModelSpec"/> (names and numbers only); the analyzers read it as it
    /// is, symbols and locations included.
    /// </summary>
    internal sealed class ModelDescription
    {
        public ModelDescription(INamedTypeSymbol type, ModelAttributeValues? attribute, bool canGenerate, ModelHeader header,
            IReadOnlyList<TargetPart> targets, IReadOnlyList<SavedModulePart> modulesToSave, IReadOnlyList<NestedModelPart> nested,
            Func<ModelDescription, TrainableCount> count)
        {
            Type = type;
            Attribute = attribute;
            CanGenerate = canGenerate;
            Header = header;
            Targets = targets;
            ModulesToSave = modulesToSave;
            Nested = nested;
            Count = count(this);
        }

        public INamedTypeSymbol Type { get; }

        /// <summary>Its <c>[FloraModel]</c>, or null.</summary>
        public ModelAttributeValues? Attribute { get; }

        /// <summary>Whether the generator extends the type (a partial TorchSharp module; FLORA001 and FLORA009 say otherwise).</summary>
        public bool CanGenerate { get; }

        /// <summary>Its settings and, when <see cref="CanGenerate"/>, where it lives (else an empty hierarchy).</summary>
        public ModelHeader Header { get; }

        /// <summary>Every <c>[FloraTarget]</c> member, in declaration order.</summary>
        public IReadOnlyList<TargetPart> Targets { get; }

        /// <summary>Every <c>[FloraModuleToSave]</c> member, in declaration order.</summary>
        public IReadOnlyList<SavedModulePart> ModulesToSave { get; }

        /// <summary>The members holding annotated models whose parts join this model's attachment, in declaration order.</summary>
        public IReadOnlyList<NestedModelPart> Nested { get; }

        /// <summary>What <c>AttachFlora()</c> on this model trains, as far as the compilation shows it (counted from the parts above).</summary>
        public TrainableCount Count { get; }

        /// <summary>Whether the generator emits members for it: it extends it, and it has annotated members or nested models.</summary>
        public bool HasGeneratedMembers => CanGenerate && (Targets.Count > 0 || ModulesToSave.Count > 0 || Nested.Count > 0);
    }

    /// <summary>One <c>[FloraTarget]</c> member; <paramref name="Spec"/> is null when the generator does not serve it (FLORA006).</summary>
    internal sealed record TargetPart(ISymbol Member, TargetAttributeValues Attribute, TargetSpec? Spec);

    /// <summary>One <c>[FloraModuleToSave]</c> member; <paramref name="Spec"/> is null when it cannot be one (FLORA011).</summary>
    internal sealed record SavedModulePart(ISymbol Member, SavedModuleSpec? Spec);

    /// <summary>
    /// One member holding an annotated model (or a module list of them). <paramref name="Model"/> is the model its single
    /// <c>new T(…)</c> creates, read in turn, or null when the compilation does not say which model (and how many) it
    /// holds; <paramref name="Unknown"/> then says why, for FLORA013.
    /// </summary>
    internal sealed record NestedModelPart(ISymbol Member, ModelDescription? Model, string? Unknown);
}
