using System.Collections.Immutable;
using Flora.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Flora.Analyzers
{
    /// <summary>
    /// FLORA009: a Flora model must derive from TorchSharp's Module. FLORA006: <c>[FloraTarget]</c> must be on an instance
    /// field or property whose layer is one of the table's (<see cref="FloraLayerKinds.Rows"/>: Linear, Conv1d/2d/3d, ConvTranspose1d/2d/3d, Embedding, MultiheadAttention; read from its type or its initializer).
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class TargetTypeAnalyzer : FloraAnalyzer
    {
        /// <inheritdoc />
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics =>
            ImmutableArray.Create(DiagnosticDescriptors.UnsupportedTarget, DiagnosticDescriptors.NotAModule);

        /// <inheritdoc />
        private protected override void Register(CompilationStartAnalysisContext context, ModelReader models)
        {
            var symbols = models.Symbols;
            context.RegisterSymbolAction(c => AnalyzeType(c, symbols), SymbolKind.NamedType);
            context.RegisterSymbolAction(c => AnalyzeMember(c, symbols), SymbolKind.Field, SymbolKind.Property);
        }

        /// <summary>object, Module, Module&lt;T, TResult&gt; or IModule&lt;T, TResult&gt;: types that may hold a supported layer.</summary>
        private static bool IsGeneralModuleType(ITypeSymbol type) =>
            type.SpecialType == SpecialType.System_Object
            || type.Name is "Module" or "IModule" && type.ContainingType is { Name: "nn", ContainingType.Name: "torch" };

        private static void AnalyzeType(SymbolAnalysisContext context, FloraSymbols symbols)
        {
            var type = (INamedTypeSymbol)context.Symbol;
            if (!symbols.IsModel(type) || TorchSymbols.DerivesFromTorchModule(type)) return;
            context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.NotAModule, type.Locations[0], type.Name));
        }

        private static void AnalyzeMember(SymbolAnalysisContext context, FloraSymbols symbols)
        {
            var member = context.Symbol;
            if (!symbols.IsTarget(member)) return;
            string? problem = LayerShapeReader.MemberProblem(member, context.Compilation);
            if (problem is null)
            {
                var shape = LayerShapeReader.Read(member, context.Compilation, context.CancellationToken);
                if (shape.Kind == LayerKind.Unsupported)
                {
                    var type = LayerShapeReader.MemberType(member);
                    problem = type is null || IsGeneralModuleType(type)
                        ? "has no layer type FLoRA can see at compile time: declare it with its layer type (Linear, Conv2d, …) or initialise it with torch.nn.Linear(...)/Conv2d(...)"
                        : $"is of type {type.Name}, which FLoRA cannot adapt";
                }
            }
            if (problem is not null)
                context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.UnsupportedTarget, member.Locations[0], member.Name, problem));
        }
    }
}
