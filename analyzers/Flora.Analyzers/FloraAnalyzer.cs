using Flora.Generators;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Flora.Analyzers
{
    /// <summary>
    /// The shared start of every Flora analyzer: generated code is skipped, analysis runs concurrently, and the Flora
    /// attribute symbols are resolved once per compilation (<see cref="FloraSymbols"/>); compilations that do not reference Flora cost nothing.
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
                if (symbols is not null) Register(start, new ModelReader(symbols, start.Compilation));
            });
        }

        /// <summary>
        /// Registers the analyzer's actions for a compilation that references Flora. <paramref name="models"/> is the
        /// compilation's model reader (the generator's), which keeps each model it reads for the compilation's other actions.
        /// </summary>
        private protected abstract void Register(CompilationStartAnalysisContext context, ModelReader models);
    }
}
