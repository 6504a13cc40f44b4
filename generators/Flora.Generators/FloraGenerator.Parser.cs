using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Flora.Generators.Model;
using Microsoft.CodeAnalysis;

namespace Flora.Generators
{
    public sealed partial class FloraGenerator
    {
        /// <summary>
        /// Symbols → specs. Each model type is read once, by <see cref="ModelReader"/> (the reading the analyzers share):
        /// from its <c>[FloraModel]</c> when it has one (<see cref="ParseModelType"/>), else from its first annotated member
        /// (<see cref="ParseAnnotatedMember"/>). After collection the specs only get their file names (<see cref="NameFiles"/>).
        /// Nothing is generated for types the generator cannot extend; the analyzers report why.
        /// </summary>
        internal static class Parser
        {
            /// <summary>The spec of a <c>[FloraModel]</c> type, or none when it gets no generated code.</summary>
            public static ParsedModel ParseModelType(ISymbol symbol, Compilation compilation, CancellationToken cancellationToken) =>
                symbol is INamedTypeSymbol type && FloraSymbols.Resolve(compilation) is { } symbols ? Parse(type, symbols, compilation, cancellationToken) : ParsedModel.None;

            /// <summary>
            /// The spec of the model declaring <paramref name="member"/> (a <c>[FloraTarget]</c> or <c>[FloraModuleToSave]</c>
            /// member) when the member is the model's first annotated one and the model has no <c>[FloraModel]</c> (whose
            /// own transform reads it); else none, so that each model is read once.
            /// </summary>
            public static ParsedModel ParseAnnotatedMember(ISymbol member, Compilation compilation, CancellationToken cancellationToken)
            {
                if (member.ContainingType is not { } type || FloraSymbols.Resolve(compilation) is not { } symbols || symbols.ModelOf(type) is not null) return ParsedModel.None;
                var first = type.GetMembers().FirstOrDefault(m => !m.IsImplicitlyDeclared && symbols.IsAnnotated(m));
                return SymbolEqualityComparer.Default.Equals(first, member) ? Parse(type, symbols, compilation, cancellationToken) : ParsedModel.None;
            }

            /// <summary>One spec per model (the first where a broken compilation declares one twice), ordered, with unique file names.</summary>
            public static ImmutableArray<ModelSpec> NameFiles(ImmutableArray<ParsedModel> parsed, CancellationToken cancellationToken)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var distinct = parsed.Where(p => p.Spec is not null).Select(p => p.Spec!).GroupBy(s => s.Header.TypeKey).Select(g => g.First());
                return GeneratedFileNames.Assign(distinct, s => s.Header.TypeKey, ".Flora.g.cs", (s, hint) => s with { HintName = hint });
            }

            private static ParsedModel Parse(INamedTypeSymbol type, FloraSymbols symbols, Compilation compilation, CancellationToken cancellationToken)
            {
                if (!ModelReader.CanGenerateFor(type, cancellationToken)) return ParsedModel.None;
                var model = new ModelReader(symbols, compilation).Read(type, cancellationToken);
                if (!model.HasGeneratedMembers) return ParsedModel.None;
                return new ParsedModel(new ModelSpec
                {
                    Header = model.Header,
                    Targets = new EquatableArray<TargetSpec>(model.Targets.Where(t => t.Spec is not null).Select(t => t.Spec!)),
                    ModulesToSave = new EquatableArray<SavedModuleSpec>(model.ModulesToSave.Where(m => m.Spec is not null).Select(m => m.Spec!)),
                    Counts = new EquatableArray<CountConstantSpec>(model.Count.Constants.Select(c => new CountConstantSpec
                    {
                        Kind = c.Kind,
                        Value = c.Value,
                        HidesBase = model.Header.BaseCounts.Contains(CountConstants.Name(c.Kind)),
                    })),
                });
            }

            /// <summary>An identifier as C# source: keywords get a verbatim <c>@</c>.</summary>
            internal static string Escape(string identifier) => SourceNames.Escape(identifier);
        }
    }
}
