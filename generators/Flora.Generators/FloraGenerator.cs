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
            var targets = context.SyntaxProvider
                .ForAttributeWithMetadataName(
                    TargetAttributeName,
                    static (node, _) => node is VariableDeclaratorSyntax or PropertyDeclarationSyntax,
                    static (ctx, ct) => Parser.ParseTarget(ctx.TargetSymbol, ctx.SemanticModel.Compilation, ct))
                .Where(static entry => entry is not null)
                .Select(static (entry, _) => entry!)
                .WithTrackingName(FloraStepNames.Targets);

            var modulesToSave = context.SyntaxProvider
                .ForAttributeWithMetadataName(
                    ModuleToSaveAttributeName,
                    static (node, _) => node is VariableDeclaratorSyntax or PropertyDeclarationSyntax,
                    static (ctx, ct) => Parser.ParseModuleToSave(ctx.TargetSymbol, ctx.SemanticModel.Compilation, ct))
                .Where(static entry => entry is not null)
                .Select(static (entry, _) => entry!)
                .WithTrackingName(FloraStepNames.ModulesToSave);

            var modelTypes = context.SyntaxProvider
                .ForAttributeWithMetadataName(
                    ModelAttributeName,
                    static (node, _) => node is ClassDeclarationSyntax,
                    static (ctx, ct) => Parser.ParseModelType(ctx.TargetSymbol, ctx.SemanticModel.Compilation, ct))
                .Where(static entry => entry is not null)
                .Select(static (entry, _) => entry!)
                .WithTrackingName(FloraStepNames.ModelTypes);

            var models = targets.Collect()
                .Combine(modulesToSave.Collect())
                .Combine(modelTypes.Collect())
                .SelectMany(static (entries, ct) => Parser.BuildModels(entries.Left.Left.AddRange(entries.Left.Right).AddRange(entries.Right), ct))
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
    }
}
