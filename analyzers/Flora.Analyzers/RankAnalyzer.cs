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
    /// kernel axis), FLORA005 (R3 on a Linear), FLORA007 (a Scale, or a LoraAlpha that is set, that is not finite and
    /// positive), FLORA014 (an AdaLoraTargetRank above the AdaLoraInitRank). Inherited FLoRA ranks clamp silently, as at
    /// run time.
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class RankAnalyzer : FloraAnalyzer
    {
        private static readonly string[] RankArguments = { "Rank", "InRank", "OutRank", "R3" };

        /// <summary>The arguments whose 0 means unset, so that only a negative value is FLORA002, with FLORA002's advice for each.</summary>
        private static readonly (string Name, string Advice)[] ModelUnsetArguments =
        {
            ("AdapterSize", DiagnosticDescriptors.AdapterSizeAdvice),
            ("AdaLoraTargetRank", DiagnosticDescriptors.AdaLoraTargetRankAdvice),
            ("AdaLoraInitRank", DiagnosticDescriptors.AdaLoraInitRankAdvice),
        };

        private static readonly (string Name, string Advice)[] TargetUnsetArguments = { ("AdapterSize", DiagnosticDescriptors.AdapterSizeAdvice) };

        /// <inheritdoc />
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(
            DiagnosticDescriptors.RankBelowOne, DiagnosticDescriptors.RankExceedsMode, DiagnosticDescriptors.R3ExceedsKernel,
            DiagnosticDescriptors.R3OnLinear, DiagnosticDescriptors.InvalidScale, DiagnosticDescriptors.AdaLoraTargetAboveInit);

        /// <inheritdoc />
        private protected override void Register(CompilationStartAnalysisContext context, FloraSymbols symbols)
        {
            context.RegisterSymbolAction(c => AnalyzeModel(c, symbols), SymbolKind.NamedType);
            context.RegisterSymbolAction(c => AnalyzeTarget(c, symbols), SymbolKind.Field, SymbolKind.Property);
        }

        private static void AnalyzeModel(SymbolAnalysisContext context, FloraSymbols symbols)
        {
            var attribute = symbols.ModelOf((INamedTypeSymbol)context.Symbol);
            if (attribute is null) return;
            CheckValues(context, attribute, context.Symbol.Name, new[] { "Rank", "R3" });
            CheckLoraValues(context, attribute, context.Symbol.Name);
            CheckUnsetValues(context, attribute, context.Symbol.Name, ModelUnsetArguments);
            CheckAdaLoraRanks(context, attribute, context.Symbol.Name);
        }

        /// <summary>
        /// FLORA014: AdaLoraTargetRank and AdaLoraInitRank both set with the target above the initial rank: AdaLoRA only prunes
        /// ranks. Marked on AdaLoraInitRank, whose fix raises it to the target rank. A rank that is unset (0) or negative
        /// (FLORA002) is not compared.
        /// </summary>
        private static void CheckAdaLoraRanks(SymbolAnalysisContext context, AttributeData attribute, string owner)
        {
            if (TorchSymbols.NamedInt(attribute, "AdaLoraTargetRank") is not int target || target < 1
                || TorchSymbols.NamedInt(attribute, "AdaLoraInitRank") is not int init || init < 1 || target <= init)
                return;
            Report(context, DiagnosticDescriptors.AdaLoraTargetAboveInit, attribute, "AdaLoraInitRank", "AdaLoraInitRank = " + Number(target),
                Number(target), owner, Number(init));
        }

        private static void AnalyzeTarget(SymbolAnalysisContext context, FloraSymbols symbols)
        {
            var member = context.Symbol;
            var attribute = symbols.TargetOf(member);
            if (attribute is null || member.IsStatic) return;
            CheckUnsetValues(context, attribute, member.Name, TargetUnsetArguments);
            bool floraValid = CheckValues(context, attribute, member.Name, RankArguments);
            bool loraValid = CheckLoraValues(context, attribute, member.Name);
            if (!floraValid && !loraValid) return;

            var shape = LayerShapeReader.Read(member, context.Compilation, context.CancellationToken);
            var model = member.ContainingType is { } type ? symbols.ModelOf(type) : null;
            if (loraValid && shape.WeightShape is long[] loraWeight) CheckLoraRank(context, member, attribute, model, loraWeight);
            if (floraValid) CheckFloraRanks(context, member, attribute, model, shape);
        }

        /// <summary>
        /// FLORA003 for LoRA/DoRA: the target's LoraRank (its own, else the model's; 0 is unset) exceeds the full rank
        /// <c>min(out, (in/groups)·Πk)</c> of its weight, to which the runtime clamps it. An inherited one is reported on the
        /// target's attribute, whose fix adds <c>LoraRank = full</c> to the target.
        /// </summary>
        private static void CheckLoraRank(SymbolAnalysisContext context, ISymbol member, AttributeData attribute, AttributeData? model, long[] weight)
        {
            int? own = TorchSymbols.NamedInt(attribute, "LoraRank") is int r && r != 0 ? r : null;
            int? inherited = TorchSymbols.NamedInt(model, "LoraRank") is int m && m != 0 ? m : null;
            if ((own ?? inherited) is not int rank || rank < 1) return; // unset, or FLORA002 on the model
            int full = FloraRankRules.LoraFullRank(weight);
            if (rank <= full) return;
            string limit = $"the full rank {Number(full)} of its weight [{string.Join(", ", weight.Select(Number))}] (min(out, in/groups·Πk))";
            string advice = own.HasValue
                ? $"Use LoraRank ≤ {Number(full)}."
                : $"It inherits LoraRank {Number(rank)} from [FloraModel]: set LoraRank ≤ {Number(full)} on '{member.Name}', or lower the model's.";
            Report(context, DiagnosticDescriptors.RankExceedsMode, attribute, "LoraRank", "LoraRank = " + Number(full),
                "LoraRank", Number(rank), member.Name, limit, Number(full), advice);
        }

        private static void CheckFloraRanks(SymbolAnalysisContext context, ISymbol member, AttributeData attribute, AttributeData? model, LayerShape shape)
        {
            if (shape.Kind is LayerKind.Linear or LayerKind.Embedding && AttributeArguments.IsSet(attribute, "R3"))
                Report(context, DiagnosticDescriptors.R3OnLinear, attribute, "R3", "", member.Name, shape.Kind == LayerKind.Embedding ? "an Embedding" : "a Linear");
            if (shape.WeightShape is not long[] weight) return;

            int? rank = TorchSymbols.NamedInt(attribute, "Rank"), inRank = TorchSymbols.NamedInt(attribute, "InRank");
            int? outRank = TorchSymbols.NamedInt(attribute, "OutRank"), r3 = TorchSymbols.NamedInt(attribute, "R3");
            var defaults = TorchSymbols.ModelDefaults(model);
            int effectiveRank = rank ?? defaults.Rank;
            int effectiveR3 = r3 ?? defaults.R3;
            if (effectiveRank < 1 || effectiveR3 < 1) return; // FLORA002 on the model
            bool transposed = FloraLayerKinds.RowOf(shape.Kind).Transposed;
            var modes = FloraRankRules.Resolve(weight, effectiveRank, rank.HasValue, inRank, outRank, effectiveR3, r3.HasValue, transposed);
            int outMode = transposed ? 1 : 0; // a transposed convolution's weight is [in, out/groups, k…]

            // FLORA003: Rank covers the out and in modes that OutRank/InRank do not set.
            var clamped = new[] { (Mode: modes[outMode], Argument: outRank.HasValue ? "OutRank" : "Rank"), (Mode: modes[1 - outMode], Argument: inRank.HasValue ? "InRank" : "Rank") }
                .Where(m => m.Mode.IsExplicit && m.Mode.IsClamped);
            foreach (var group in clamped.GroupBy(m => m.Argument))
            {
                var exceeded = group.Select(m => m.Mode).ToList();
                string sizes = string.Join(" and ", exceeded.Select(m => FloraRankRules.DescribeMode(m.Mode, shape.Kind) + " " + Number(m.Size)));
                string clampedTo = string.Join(" and ", exceeded.Select(m => Number(m.Size)));
                long largest = exceeded.Min(m => m.Size);
                string replacement, advice;
                if (group.Key == "Rank" && exceeded.Count == 1 && !outRank.HasValue && !inRank.HasValue)
                {
                    // Rank fits one of out/in: keep it there and state the clamped one, instead of shrinking both.
                    bool outExceeded = exceeded[0].Mode == outMode;
                    long outValue = outExceeded ? modes[outMode].Size : effectiveRank, inValue = outExceeded ? effectiveRank : modes[1 - outMode].Size;
                    replacement = $"OutRank = {Number(outValue)}, InRank = {Number(inValue)}";
                    advice = $"Use {replacement} to say so, or a Rank ≤ {Number(largest)}.";
                }
                else
                {
                    replacement = $"{group.Key} = {Number(largest)}";
                    advice = $"Use {group.Key} ≤ {Number(largest)}.";
                }
                Report(context, DiagnosticDescriptors.RankExceedsMode, attribute, group.Key, replacement,
                    group.Key, Number(exceeded[0].Requested), member.Name, sizes, clampedTo, advice);
            }

            // FLORA004: an explicit R3 larger than a kernel axis is an error at run time.
            var kernel = modes.Where(m => m.IsKernelAxis).ToList();
            var tooSmall = kernel.FirstOrDefault(m => m.IsExplicit && m.IsClamped);
            if (tooSmall.Size > 0)
            {
                long largest = kernel.Min(m => m.Size);
                Report(context, DiagnosticDescriptors.R3ExceedsKernel, attribute, "R3", "R3 = " + Number(largest),
                    Number(tooSmall.Requested), member.Name, Number(tooSmall.Mode - 2), Number(tooSmall.Size), Number(largest));
            }
        }

        /// <summary>FLORA002 and FLORA007 on the given arguments; returns whether every value is valid.</summary>
        private static bool CheckValues(SymbolAnalysisContext context, AttributeData attribute, string owner, IEnumerable<string> ranks)
        {
            bool valid = true;
            foreach (var name in ranks)
            {
                if (TorchSymbols.NamedInt(attribute, name) is int value && value < 1)
                {
                    Report(context, DiagnosticDescriptors.RankBelowOne, attribute, name, null, name, Number(value), owner, DiagnosticDescriptors.FloraRankAdvice);
                    valid = false;
                }
            }
            if (TorchSymbols.NamedDouble(attribute, "Scale") is double scale && !(scale > 0 && !double.IsInfinity(scale)))
            {
                Report(context, DiagnosticDescriptors.InvalidScale, attribute, "Scale", "Scale = 0.4",
                    "Scale", scale.ToString("R", CultureInfo.InvariantCulture), owner, DiagnosticDescriptors.ScaleAdvice);
                valid = false;
            }
            return valid;
        }

        /// <summary>
        /// FLORA002 for a negative LoraRank and FLORA007 for a LoraAlpha that is NaN, infinite or negative (0 is unset for
        /// both: the matched rank, α = r). Returns whether LoraRank is valid (LoraAlpha does not change the rank checks).
        /// </summary>
        private static bool CheckLoraValues(SymbolAnalysisContext context, AttributeData attribute, string owner)
        {
            bool valid = true;
            if (TorchSymbols.NamedInt(attribute, "LoraRank") is int rank && rank < 0)
            {
                Report(context, DiagnosticDescriptors.RankBelowOne, attribute, "LoraRank", "", "LoraRank", Number(rank), owner, DiagnosticDescriptors.LoraRankAdvice);
                valid = false;
            }
            if (TorchSymbols.NamedDouble(attribute, "LoraAlpha") is double alpha && alpha != 0 && !(alpha > 0 && !double.IsInfinity(alpha)))
            {
                Report(context, DiagnosticDescriptors.InvalidScale, attribute, "LoraAlpha", "",
                    "LoraAlpha", alpha.ToString("R", CultureInfo.InvariantCulture), owner, DiagnosticDescriptors.LoraAlphaAdvice);
            }
            return valid;
        }

        /// <summary>
        /// FLORA002 for a negative value of an argument whose 0 means unset (AdapterSize, the AdaLoRA ranks); the fix removes
        /// it. They do not change the FLoRA and LoRA checks.
        /// </summary>
        private static void CheckUnsetValues(SymbolAnalysisContext context, AttributeData attribute, string owner, IEnumerable<(string Name, string Advice)> arguments)
        {
            foreach (var (name, advice) in arguments)
            {
                if (TorchSymbols.NamedInt(attribute, name) is int value && value < 0)
                    Report(context, DiagnosticDescriptors.RankBelowOne, attribute, name, "", name, Number(value), owner, advice);
            }
        }

        private static void Report(SymbolAnalysisContext context, DiagnosticDescriptor descriptor, AttributeData attribute, string argument, string? replacement, params object[] args)
        {
            var properties = ImmutableDictionary<string, string?>.Empty.Add(DiagnosticDescriptors.ArgumentName, argument);
            if (replacement is not null) properties = properties.Add(DiagnosticDescriptors.Replacement, replacement);
            context.ReportDiagnostic(Diagnostic.Create(descriptor, AttributeArguments.Of(attribute, argument, context.CancellationToken), properties, args));
        }

        private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
    }
}
