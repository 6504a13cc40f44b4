using System.Collections.Immutable;
using Flora.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace Flora.Analyzers
{
    /// <summary>
    /// FLORA010: <c>target.forward(x)</c> on a <c>[FloraTarget]</c> member that keeps its base layer (a sealed TorchSharp layer
    /// type, or a member that cannot store the wrapper: the adapter is bound through forward hooks, and TorchSharp runs
    /// hooks in <c>call(x)</c> only) that the generator does not intercept. The generator routes such calls to
    /// <c>call(x)</c> when they are made on the member itself inside its model and interception is on; this reports the rest,
    /// with the reason (<see cref="ForwardCalls"/> holds the one rule both use). <c>call(x)</c> is the fix.
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class ForwardBypassAnalyzer : FloraAnalyzer
    {
        /// <inheritdoc />
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(DiagnosticDescriptors.ForwardBypassesAdapter);

        /// <inheritdoc />
        private protected override void Register(CompilationStartAnalysisContext context, ModelReader models)
        {
            var symbols = models.Symbols;
            context.Options.AnalyzerConfigOptionsProvider.GlobalOptions.TryGetValue(ForwardCalls.OptOutBuildProperty, out string? property);
            context.RegisterOperationAction(c => Analyze(c, symbols, property), OperationKind.Invocation);
        }

        private static void Analyze(OperationAnalysisContext context, FloraSymbols symbols, string? property)
        {
            var invocation = (IInvocationOperation)context.Operation;
            if (invocation.TargetMethod.Name != "forward") return;
            var call = ForwardCalls.Classify(invocation, symbols, context.CancellationToken);
            if (call is null || !call.IsForward) return; // call(x) reaches the adapter, intercepted or not
            var state = ForwardCalls.State(property, invocation.Syntax.SyntaxTree.Options);
            if (ForwardCalls.IsIntercepted(call, state)) return;
            // `head?.forward(x)`: mark the whole conditional access, not only its `.forward(x)` part.
            var syntax = call.Blocker == ForwardCallBlocker.ConditionalAccess && invocation.Syntax.Parent is ConditionalAccessExpressionSyntax access ? access : invocation.Syntax;
            context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.ForwardBypassesAdapter, syntax.GetLocation(),
                call.Member.Name, ForwardCalls.Reason(call, state)));
        }
    }
}
