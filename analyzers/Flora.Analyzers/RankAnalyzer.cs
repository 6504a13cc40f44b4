using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using System.Threading;
using Flora.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Flora.Analyzers
{
    /// <summary>
    /// The ranks, sizes and scale of <c>[FloraTarget]</c> and <c>[FloraModel]</c>: FLORA002 (a rank below 1, or a negative
    /// LoraRank, AdapterSize, AdaLoraTargetRank or AdaLoraInitRank), FLORA003 (an explicit rank larger than its mode,
    /// clamped; a LoraRank, own or inherited, larger than the weight's full rank), FLORA004 (an explicit R3 larger than a
    /// kernel axis), FLORA005 (R3 on a layer without kernel axes: Linear, Embedding, MultiheadAttention), FLORA007 (a Scale, or a LoraAlpha that is set, that is not finite and
    /// positive), FLORA014 (an AdaLoraTargetRank above the AdaLoraInitRank). Inherited FLoRA ranks clamp silently, as at
    /// run time.
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class RankAnalyzer : FloraAnalyzer
    {
        /// <inheritdoc />
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(
            DiagnosticDescriptors.RankBelowOne, DiagnosticDescriptors.RankExceedsMode, DiagnosticDescriptors.R3ExceedsKernel,
            DiagnosticDescriptors.R3OnLinear, DiagnosticDescriptors.InvalidScale, DiagnosticDescriptors.AdaLoraTargetAboveInit);

        /// <inheritdoc />
        private protected override void Register(CompilationStartAnalysisContext context, ModelReader models)
        {
            var symbols = models.Symbols;
            context.RegisterSymbolAction(c => AnalyzeModel(c, symbols), SymbolKind.NamedType);
            context.RegisterSymbolAction(c => AnalyzeTarget(c, symbols), SymbolKind.Field, SymbolKind.Property);
        }

        private static void AnalyzeModel(SymbolAnalysisContext context, FloraSymbols symbols)
        {
            var model = symbols.ModelOf((INamedTypeSymbol)context.Symbol);
            if (model is null) return;
            string owner = context.Symbol.Name;
            CheckValues(context, model.Data, owner, new[] { (FloraArgumentNames.Rank, model.Rank), (FloraArgumentNames.R3, model.R3) }, model.Scale);
            CheckLoraValues(context, model.Data, owner, model.LoraRank, model.LoraAlpha);
            CheckUnsetValues(context, model.Data, owner, new[]
            {
                (FloraArgumentNames.AdapterSize, model.AdapterSize, DiagnosticDescriptors.AdapterSizeAdvice),
                (FloraArgumentNames.AdaLoraTargetRank, model.AdaLoraTargetRank, DiagnosticDescriptors.AdaLoraTargetRankAdvice),
                (FloraArgumentNames.AdaLoraInitRank, model.AdaLoraInitRank, DiagnosticDescriptors.AdaLoraInitRankAdvice),
            });
            CheckAdaLoraRanks(context, model, owner);
        }

        /// <summary>
        /// FLORA014: AdaLoraTargetRank and AdaLoraInitRank both set with the target above the initial rank: AdaLoRA only prunes
        /// ranks. Marked on AdaLoraInitRank, whose fix raises it to the target rank. A rank that is unset (0) or negative
        /// (FLORA002) is not compared.
        /// </summary>
        private static void CheckAdaLoraRanks(SymbolAnalysisContext context, ModelAttributeValues model, string owner)
        {
            if (model.AdaLoraTargetRank is not int target || target < 1 || model.AdaLoraInitRank is not int init || init < 1 || target <= init)
                return;
            Report(context, DiagnosticDescriptors.AdaLoraTargetAboveInit, model.Data, FloraArgumentNames.AdaLoraInitRank,
                FloraArgumentNames.AdaLoraInitRank + " = " + Number(target), Number(target), owner, Number(init));
        }

        private static void AnalyzeTarget(SymbolAnalysisContext context, FloraSymbols symbols)
        {
            var member = context.Symbol;
            var attribute = symbols.TargetOf(member);
            if (attribute is null || member.IsStatic) return;
            CheckUnsetValues(context, attribute.Data, member.Name, new[] { (FloraArgumentNames.AdapterSize, attribute.AdapterSize, DiagnosticDescriptors.AdapterSizeAdvice) });
            var ranks = new[]
            {
                (FloraArgumentNames.Rank, attribute.Rank), (FloraArgumentNames.InRank, attribute.InRank),
                (FloraArgumentNames.OutRank, attribute.OutRank), (FloraArgumentNames.R3, attribute.R3),
            };
            bool floraValid = CheckValues(context, attribute.Data, member.Name, ranks, attribute.Scale);
            bool loraValid = CheckLoraValues(context, attribute.Data, member.Name, attribute.LoraRank, attribute.LoraAlpha);
            if (!floraValid && !loraValid) return;

            var shape = LayerShapeReader.Read(member, context.Compilation, context.CancellationToken);
            var model = member.ContainingType is { } type ? symbols.ModelOf(type) : null;
            long[]? checkedWeight = CheckedWeight(shape);
            if (loraValid && checkedWeight is not null) CheckLoraRank(context, member, attribute, model, checkedWeight);
            if (floraValid) CheckFloraRanks(context, member, attribute, model, shape.Kind, checkedWeight);
        }

        /// <summary>
        /// The weight whose modes bound the target's ranks: the layer's own, or for a MultiheadAttention the smaller of its
        /// two adapted projections, out_proj's <c>[E, E]</c> (a rank in_proj's <c>[3E, E]</c> clamps, out_proj's clamps too);
        /// null when the shape is not constant.
        /// </summary>
        private static long[]? CheckedWeight(LayerShape shape) =>
            shape.WeightShape is long[] weight ? FloraLayerKinds.AdaptedWeights(shape.Kind, weight).Last() : null;

        /// <summary>
        /// FLORA003 for LoRA/DoRA: the target's LoraRank (its own, else the model's; 0 is unset) exceeds the full rank
        /// <c>min(out, (in/groups)·Πk)</c> of its weight, to which the runtime clamps it. An inherited one is reported on the
        /// target's attribute, whose fix adds <c>LoraRank = full</c> to the target.
        /// </summary>
        private static void CheckLoraRank(SymbolAnalysisContext context, ISymbol member, TargetAttributeValues attribute, ModelAttributeValues? model, long[] weight)
        {
            int? own = attribute.LoraRank is int r && r != 0 ? r : null;
            int? inherited = model?.LoraRank is int m && m != 0 ? m : null;
            if ((own ?? inherited) is not int rank || rank < 1) return; // unset, or FLORA002 on the model
            int full = FloraRankRules.LoraFullRank(weight);
            if (rank <= full) return;
            string limit = $"the full rank {Number(full)} of its weight [{string.Join(", ", weight.Select(Number))}] (min(out, in/groups·Πk))";
            string advice = own.HasValue
                ? $"Use LoraRank ≤ {Number(full)}."
                : $"It inherits LoraRank {Number(rank)} from [FloraModel]: set LoraRank ≤ {Number(full)} on '{member.Name}', or lower the model's.";
            Report(context, DiagnosticDescriptors.RankExceedsMode, attribute.Data, FloraArgumentNames.LoraRank, FloraArgumentNames.LoraRank + " = " + Number(full),
                FloraArgumentNames.LoraRank, Number(rank), member.Name, limit, Number(full), advice);
        }

        private static void CheckFloraRanks(SymbolAnalysisContext context, ISymbol member, TargetAttributeValues attribute, ModelAttributeValues? model, LayerKind kind, long[]? weight)
        {
            if (kind != LayerKind.Unsupported && FloraLayerKinds.RowOf(kind).KernelAxes == 0 && attribute.R3.HasValue)
                Report(context, DiagnosticDescriptors.R3OnLinear, attribute.Data, FloraArgumentNames.R3, "", member.Name, WithArticle(kind));
            if (weight is null) return;

            int? rank = attribute.Rank, inRank = attribute.InRank, outRank = attribute.OutRank, r3 = attribute.R3;
            int effectiveRank = rank ?? ModelAttributeValues.EffectiveRank(model);
            int effectiveR3 = r3 ?? ModelAttributeValues.EffectiveR3(model);
            if (effectiveRank < 1 || effectiveR3 < 1) return; // FLORA002 on the model
            bool transposed = FloraLayerKinds.RowOf(kind).Transposed;
            var modes = FloraRankRules.Resolve(weight, effectiveRank, rank.HasValue, inRank, outRank, effectiveR3, r3.HasValue, transposed);
            int outMode = transposed ? 1 : 0; // a transposed convolution's weight is [in, out/groups, k…]

            // FLORA003: Rank covers the out and in modes that OutRank/InRank do not set.
            var clamped = new[]
                {
                    (Mode: modes[outMode], Argument: outRank.HasValue ? FloraArgumentNames.OutRank : FloraArgumentNames.Rank),
                    (Mode: modes[1 - outMode], Argument: inRank.HasValue ? FloraArgumentNames.InRank : FloraArgumentNames.Rank),
                }
                .Where(m => m.Mode.IsExplicit && m.Mode.IsClamped);
            foreach (var group in clamped.GroupBy(m => m.Argument))
            {
                var exceeded = group.Select(m => m.Mode).ToList();
                string sizes = string.Join(" and ", exceeded.Select(m => FloraRankRules.DescribeMode(m.Mode, kind) + " " + Number(m.Size)).Distinct());
                string clampedTo = kind == LayerKind.MultiheadAttention ? Number(exceeded[0].Size) : string.Join(" and ", exceeded.Select(m => Number(m.Size)));
                long largest = exceeded.Min(m => m.Size);
                string replacement, advice;
                if (group.Key == FloraArgumentNames.Rank && exceeded.Count == 1 && !outRank.HasValue && !inRank.HasValue)
                {
                    // Rank fits one of out/in: keep it there and state the clamped one, instead of shrinking both.
                    bool outExceeded = exceeded[0].Mode == outMode;
                    long outValue = outExceeded ? modes[outMode].Size : effectiveRank, inValue = outExceeded ? effectiveRank : modes[1 - outMode].Size;
                    replacement = $"{FloraArgumentNames.OutRank} = {Number(outValue)}, {FloraArgumentNames.InRank} = {Number(inValue)}";
                    advice = $"Use {replacement} to say so, or a Rank ≤ {Number(largest)}.";
                }
                else
                {
                    replacement = $"{group.Key} = {Number(largest)}";
                    advice = $"Use {group.Key} ≤ {Number(largest)}.";
                }
                Report(context, DiagnosticDescriptors.RankExceedsMode, attribute.Data, group.Key, replacement,
                    group.Key, Number(exceeded[0].Requested), member.Name, sizes, clampedTo, advice);
            }

            // FLORA004: an explicit R3 larger than a kernel axis is an error at run time.
            var kernel = modes.Where(m => m.IsKernelAxis).ToList();
            var tooSmall = kernel.FirstOrDefault(m => m.IsExplicit && m.IsClamped);
            if (tooSmall.Size > 0)
            {
                long largest = kernel.Min(m => m.Size);
                Report(context, DiagnosticDescriptors.R3ExceedsKernel, attribute.Data, FloraArgumentNames.R3, FloraArgumentNames.R3 + " = " + Number(largest),
                    Number(tooSmall.Requested), member.Name, Number(tooSmall.Mode - 2), Number(tooSmall.Size), Number(largest));
            }
        }

        /// <summary>FLORA002 and FLORA007 on the given arguments; returns whether every value is valid.</summary>
        private static bool CheckValues(SymbolAnalysisContext context, AttributeData attribute, string owner, IEnumerable<(string Name, int? Value)> ranks, double? scale)
        {
            bool valid = true;
            foreach (var (name, rank) in ranks)
            {
                if (rank is int value && value < 1)
                {
                    Report(context, DiagnosticDescriptors.RankBelowOne, attribute, name, null, name, Number(value), owner, DiagnosticDescriptors.FloraRankAdvice);
                    valid = false;
                }
            }
            if (scale is double invalid && !(invalid > 0 && !double.IsInfinity(invalid)))
            {
                Report(context, DiagnosticDescriptors.InvalidScale, attribute, FloraArgumentNames.Scale, FloraArgumentNames.Scale + " = 0.4",
                    FloraArgumentNames.Scale, invalid.ToString("R", CultureInfo.InvariantCulture), owner, DiagnosticDescriptors.ScaleAdvice);
                valid = false;
            }
            return valid;
        }

        /// <summary>
        /// FLORA002 for a negative LoraRank and FLORA007 for a LoraAlpha that is NaN, infinite or negative (0 is unset for
        /// both: the matched rank, α = r). Returns whether LoraRank is valid (LoraAlpha does not change the rank checks).
        /// </summary>
        private static bool CheckLoraValues(SymbolAnalysisContext context, AttributeData attribute, string owner, int? loraRank, double? loraAlpha)
        {
            bool valid = true;
            if (loraRank is int rank && rank < 0)
            {
                Report(context, DiagnosticDescriptors.RankBelowOne, attribute, FloraArgumentNames.LoraRank, "", FloraArgumentNames.LoraRank, Number(rank), owner, DiagnosticDescriptors.LoraRankAdvice);
                valid = false;
            }
            if (loraAlpha is double alpha && alpha != 0 && !(alpha > 0 && !double.IsInfinity(alpha)))
            {
                Report(context, DiagnosticDescriptors.InvalidScale, attribute, FloraArgumentNames.LoraAlpha, "",
                    FloraArgumentNames.LoraAlpha, alpha.ToString("R", CultureInfo.InvariantCulture), owner, DiagnosticDescriptors.LoraAlphaAdvice);
            }
            return valid;
        }

        /// <summary>
        /// FLORA002 for a negative value of an argument whose 0 means unset (AdapterSize, the AdaLoRA ranks); the fix removes
        /// it. They do not change the FLoRA and LoRA checks.
        /// </summary>
        private static void CheckUnsetValues(SymbolAnalysisContext context, AttributeData attribute, string owner, IEnumerable<(string Name, int? Value, string Advice)> arguments)
        {
            foreach (var (name, argument, advice) in arguments)
            {
                if (argument is int value && value < 0)
                    Report(context, DiagnosticDescriptors.RankBelowOne, attribute, name, "", name, Number(value), owner, advice);
            }
        }

        private static void Report(SymbolAnalysisContext context, DiagnosticDescriptor descriptor, AttributeData attribute, string argument, string? replacement, params object[] args)
        {
            var properties = ImmutableDictionary<string, string?>.Empty.Add(DiagnosticDescriptors.ArgumentName, argument);
            if (replacement is not null) properties = properties.Add(DiagnosticDescriptors.Replacement, replacement);
            context.ReportDiagnostic(Diagnostic.Create(descriptor, AttributeArguments.Of(attribute, argument, context.CancellationToken), properties, args));
        }

        /// <summary>The layer type's name with its article, for messages: <c>a Linear</c>, <c>an Embedding</c>.</summary>
        private static string WithArticle(LayerKind kind)
        {
            string name = FloraLayerKinds.RowOf(kind).TypeName;
            return ("AEIOU".IndexOf(name[0]) >= 0 ? "an " : "a ") + name;
        }

        private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
    }
}
