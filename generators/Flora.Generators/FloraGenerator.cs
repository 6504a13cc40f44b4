using System.Collections.Immutable;
using Flora.Generators.Model;
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
            // One spec per model type: read from its [FloraModel], else from its first annotated member (System.Text.Json
            // reads each JsonSerializerContext from its attribute the same way); the other members' transforms give none,
            // kept until NameFiles so that step tracking sees every transform.
            var fromModelAttributes = context.SyntaxProvider
                .ForAttributeWithMetadataName(
                    FloraSymbols.ModelAttributeName,
                    static (node, _) => node is ClassDeclarationSyntax,
                    static (ctx, ct) => Parser.ParseModelType(ctx.TargetSymbol, ctx.SemanticModel.Compilation, ct))
                .WithTrackingName(FloraStepNames.ModelTypes);

            var fromTargets = ModelsOfAnnotatedMembers(context.SyntaxProvider, FloraSymbols.TargetAttributeName, FloraStepNames.Targets);
            var fromModulesToSave = ModelsOfAnnotatedMembers(context.SyntaxProvider, FloraSymbols.ModuleToSaveAttributeName, FloraStepNames.ModulesToSave);

            var models = fromModelAttributes.Collect()
                .Combine(fromTargets.Collect())
                .Combine(fromModulesToSave.Collect())
                .SelectMany(static (specs, ct) => Parser.NameFiles(specs.Left.Left.AddRange(specs.Left.Right).AddRange(specs.Right), ct))
                .WithTrackingName(FloraStepNames.Models);

            context.RegisterSourceOutput(models, static (output, spec) => output.AddSource(spec.HintName, Emitter.Emit(spec)));

            // forward(x) on hook-bound targets inside their model runs call(x): interceptors, when the project enables them.
            var interceptionEnabled = context.AnalyzerConfigOptionsProvider
                .Combine(context.ParseOptionsProvider)
                .Select(static (pair, _) => InterceptionParser.IsEnabled(pair.Left, pair.Right))
                .WithTrackingName(FloraStepNames.InterceptionEnabled);

            var sites = context.SyntaxProvider
                .CreateSyntaxProvider(static (node, _) => ForwardCalls.IsLayerCallSyntax(node), static (ctx, ct) => InterceptionParser.ParseSite(ctx, ct))
                .Where(static site => site is not null)
                .Select(static (site, _) => site!)
                .WithTrackingName(FloraStepNames.InterceptionSites);

            var interceptors = sites
                .Collect()
                .Combine(interceptionEnabled)
                .SelectMany(static (pair, ct) => pair.Right ? InterceptionParser.BuildInterceptors(pair.Left, ct) : ImmutableArray<InterceptorsSpec>.Empty)
                .WithTrackingName(FloraStepNames.Interceptors);

            context.RegisterSourceOutput(interceptors, static (output, spec) => output.AddSource(spec.HintName, InterceptionEmitter.Emit(spec)));
        }

        /// <summary>The models read from their first member with attribute <paramref name="attributeName"/> (fields and properties).</summary>
        private static IncrementalValuesProvider<ParsedModel> ModelsOfAnnotatedMembers(SyntaxValueProvider syntax, string attributeName, string stepName) =>
            syntax.ForAttributeWithMetadataName(
                    attributeName,
                    static (node, _) => node is VariableDeclaratorSyntax or PropertyDeclarationSyntax,
                    static (ctx, ct) => Parser.ParseAnnotatedMember(ctx.TargetSymbol, ctx.SemanticModel.Compilation, ct))
                .WithTrackingName(stepName);
    }
}
