using Microsoft.CodeAnalysis.Diagnostics;

namespace Flora.Analyzers
{
    /// <summary>
    /// The shared start of every Flora analyzer: generated code is skipped, analysis runs concurrently, and the Flora
    /// attribute symbols are resolved once per compilation; compilations that do not reference Flora cost nothing.
    /// </summary>
    public abstract class FloraAnalyzer : DiagnosticAnalyzer
    {
        /// <inheritdoc />
        public sealed override void Initialize(AnalysisContext context)
        {
            context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
            context.EnableConcurrentExecution();
            context.RegisterCompilationStartAction(start =>
            {
                var symbols = FloraSymbols.Resolve(start.Compilation);
                if (symbols is not null) Register(start, symbols);
            });
        }

        /// <summary>Registers the analyzer's actions for a compilation that references Flora.</summary>
        private protected abstract void Register(CompilationStartAnalysisContext context, FloraSymbols symbols);
    }
}
