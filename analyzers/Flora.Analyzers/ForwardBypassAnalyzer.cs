using System.Collections.Immutable;
using Flora.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace Flora.Analyzers
{
    /// <summary>
    /// FLORA010: <c>target.forward(x)</c> on a <c>[FloraTarget]</c> member that keeps its base layer (a sealed TorchSharp layer
    /// type: the adapter is bound through a forward hook, and TorchSharp runs hooks in <c>call(x)</c> only). The call
    /// would silently skip the adapter; <c>call(x)</c> is the fix.
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class ForwardBypassAnalyzer : FloraAnalyzer
    {
        /// <inheritdoc />
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(DiagnosticDescriptors.ForwardBypassesAdapter);

        /// <inheritdoc />
        private protected override void Register(CompilationStartAnalysisContext context, FloraSymbols symbols) =>
            context.RegisterOperationAction(c => Analyze(c, symbols), OperationKind.Invocation);

        private static void Analyze(OperationAnalysisContext context, FloraSymbols symbols)
        {
            var invocation = (IInvocationOperation)context.Operation;
            if (invocation.TargetMethod.Name != "forward" || invocation.Arguments.Length != 1) return;
            ISymbol? member = invocation.Instance switch
            {
                IFieldReferenceOperation field => field.Field,
                IPropertyReferenceOperation property => property.Property,
                _ => null,
            };
            if (member is null || symbols.TargetOf(member) is null) return;
            if (LayerShapeReader.KindOf(LayerShapeReader.MemberType(member)) == LayerKind.Unsupported) return; // holds the wrapper itself
            context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.ForwardBypassesAdapter, invocation.Syntax.GetLocation(), member.Name));
        }
    }
}
