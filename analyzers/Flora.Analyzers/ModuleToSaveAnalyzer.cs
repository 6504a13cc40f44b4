using System.Collections.Immutable;
using Flora.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Flora.Analyzers
{
    /// <summary>
    /// FLORA011: <c>[FloraModuleToSave]</c> (PEFT's <c>modules_to_save</c>) must be on an instance field or property that
    /// holds a TorchSharp module and is not also a <c>[FloraTarget]</c>. Reported on the attribute, so that the fix removes it.
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class ModuleToSaveAnalyzer : FloraAnalyzer
    {
        private static readonly ImmutableDictionary<string, string?> Removable =
            ImmutableDictionary<string, string?>.Empty.Add(DiagnosticDescriptors.RemoveAttribute, "");

        /// <inheritdoc />
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(DiagnosticDescriptors.InvalidModuleToSave);

        /// <inheritdoc />
        private protected override void Register(CompilationStartAnalysisContext context, ModelReader models)
        {
            var symbols = models.Symbols;
            if (symbols.ModuleToSaveAttribute is null) return;
            context.RegisterSymbolAction(c => Analyze(c, symbols), SymbolKind.Field, SymbolKind.Property);
        }

        private static void Analyze(SymbolAnalysisContext context, FloraSymbols symbols)
        {
            var member = context.Symbol;
            var attribute = symbols.ModuleToSaveOf(member);
            if (attribute is null) return;
            string? problem = null;
            bool removable = true;
            if (symbols.IsTarget(member))
            {
                problem = "is both [FloraTarget] and [FloraModuleToSave]: a target trains its adapter, a module to save trains fully; remove one of the two attributes.";
            }
            else if (member.IsStatic)
            {
                problem = "is static: a module to save belongs to each model instance; make it an instance field or property, or remove [FloraModuleToSave].";
                removable = false;
            }
            else if (member is IPropertySymbol property && (property.IsIndexer || property.GetMethod is null || !property.ExplicitInterfaceImplementations.IsEmpty))
            {
                string what = property.IsIndexer ? "an indexer" : property.GetMethod is null ? "a property without a getter" : "an explicit interface implementation";
                problem = $"is {what}: a module to save is an instance field or a property with a getter; remove [FloraModuleToSave] or move it to the member that holds the module.";
                removable = false;
            }
            else if (LayerShapeReader.MemberType(member) is { } type && type.TypeKind != TypeKind.Error && !TorchSymbols.IsTorchModule(type))
            {
                problem = $"is typed {type.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat)}, which is not a TorchSharp module (torch.nn.Module): "
                    + "only a module's parameters train fully and are saved; remove [FloraModuleToSave].";
            }
            if (problem is null) return;
            var location = attribute.ApplicationSyntaxReference?.GetSyntax(context.CancellationToken) is AttributeSyntax syntax
                ? syntax.GetLocation()
                : member.Locations.Length > 0 ? member.Locations[0] : Location.None;
            context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.InvalidModuleToSave, location,
                removable ? Removable : ImmutableDictionary<string, string?>.Empty, member.Name, problem));
        }
    }
}
