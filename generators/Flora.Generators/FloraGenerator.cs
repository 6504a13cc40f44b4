using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Flora.Generators
{
    /// <summary>
    /// Emits, for each partial TorchSharp module with <c>[FloraTarget]</c> members, the typed FLoRA members:
    /// <c>AttachFlora()</c>, <c>DetachFlora()</c>, merge, save/load, <c>FloraParameters()</c>, the nested
    /// <c>FloraAdapters</c> class and, when every shape is constant, <c>FloraTrainableParameters</c>.
    /// Reports no diagnostics: the Flora analyzers do (FLORA001–FLORA009).
    /// </summary>
    [Generator(LanguageNames.CSharp)]
    public sealed partial class FloraGenerator : IIncrementalGenerator
    {
        /// <inheritdoc />
        public void Initialize(IncrementalGeneratorInitializationContext context)
        {
            var models = context.SyntaxProvider
                .ForAttributeWithMetadataName(
                    TargetAttributeName,
                    static (node, _) => node is VariableDeclaratorSyntax or PropertyDeclarationSyntax,
                    static (ctx, ct) => ctx.TargetSymbol.ContainingType is { } type ? Parser.Parse(type, ctx.SemanticModel.Compilation, ct) : null)
                .Where(static spec => spec is not null)
                .Select(static (spec, _) => spec!)
                .WithTrackingName(FloraStepNames.Targets)
                .Collect()
                .SelectMany(static (specs, _) => specs.Distinct())
                .WithTrackingName(FloraStepNames.Models);

            context.RegisterSourceOutput(models, static (output, spec) => output.AddSource(spec.Hierarchy.HintName, Emitter.Emit(spec)));
        }
    }
}
