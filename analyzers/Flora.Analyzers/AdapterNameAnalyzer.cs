using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Flora.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace Flora.Analyzers
{
    /// <summary>
    /// FLORA015: a compile-time constant adapter name that <see cref="AdapterNameRules"/> refuses, passed to a method of
    /// <c>FloraAttachment</c> (resolved by metadata name) or to a generated member of a Flora model (a type that implements
    /// <c>IFloraComposable</c> or is annotated) that takes an adapter name: the call can only throw. Reported on the constant
    /// (each element of an array or collection expression of names), with a usable name for the fix.
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class AdapterNameAnalyzer : FloraAnalyzer
    {
        private const string AttachmentTypeName = "Flora.FloraAttachment";

        /// <summary>What a refused name becomes when nothing of it is usable (empty, ".", "..", "__base__").</summary>
        private const string FallbackName = "adapter_1";

        /// <summary>The methods of FloraAttachment and their parameters that name adapters (one name, or a list of names).</summary>
        private static readonly ImmutableHashSet<(string Method, string Parameter)> AttachmentParameters = ImmutableHashSet.Create(
            ("AddAdapter", "name"), ("LoadAdapter", "adapterName"), ("AddWeightedAdapter", "name"), ("AddWeightedAdapter", "adapters"),
            ("SetAdapter", "name"), ("SetAdapters", "names"), ("DeleteAdapter", "name"), ("Save", "adapterName"));

        /// <summary>The generated members of a Flora model and their parameters that name adapters.</summary>
        private static readonly ImmutableHashSet<(string Method, string Parameter)> ModelParameters = ImmutableHashSet.Create(
            ("AddFloraAdapter", "name"), ("SetFloraAdapter", "name"), ("SaveFlora", "adapterName"), ("LoadFlora", "adapterName"));

        private static readonly ImmutableHashSet<string> ModelMethodNames = ModelParameters.Select(p => p.Method).ToImmutableHashSet();

        /// <inheritdoc />
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(DiagnosticDescriptors.UnusableAdapterName);

        /// <inheritdoc />
        private protected override void Register(CompilationStartAnalysisContext context, ModelReader models)
        {
            var symbols = models.Symbols;
            var attachment = context.Compilation.GetTypeByMetadataName(AttachmentTypeName);
            context.RegisterOperationAction(c => Analyze(c, (IInvocationOperation)c.Operation, attachment, symbols), OperationKind.Invocation);
        }

        private static void Analyze(OperationAnalysisContext context, IInvocationOperation invocation, INamedTypeSymbol? attachment, FloraSymbols symbols)
        {
            var method = invocation.TargetMethod;
            var parameters = NamingParameters(method, attachment, symbols);
            if (parameters is null) return;
            foreach (var argument in invocation.Arguments)
            {
                if (argument.Parameter is null || !parameters.Contains((method.Name, argument.Parameter.Name))) continue;
                foreach (var name in ConstantNames(argument.Value))
                {
                    if (name.ConstantValue.Value is not string value || AdapterNameRules.WhyUnusable(value) is not { } why) continue;
                    string usable = AdapterNameRules.MakeUsable(value, FallbackName);
                    context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.UnusableAdapterName, name.Syntax.GetLocation(),
                        ImmutableDictionary<string, string?>.Empty.Add(DiagnosticDescriptors.UsableName, usable),
                        value, method.ContainingType.Name + "." + method.Name, why, usable));
                }
            }
        }

        /// <summary>The naming parameters of <paramref name="method"/>, or null when it is neither FloraAttachment's nor a Flora model's generated member.</summary>
        private static ImmutableHashSet<(string Method, string Parameter)>? NamingParameters(IMethodSymbol method, INamedTypeSymbol? attachment, FloraSymbols symbols)
        {
            var type = method.ContainingType;
            if (type is null) return null;
            if (attachment is not null && SymbolEqualityComparer.Default.Equals(type, attachment)) return AttachmentParameters;
            // The name first: reading a type's attributes and members for every call in the compilation would cost more.
            if (!ModelMethodNames.Contains(method.Name)) return null;
            return symbols.ImplementsComposable(type) || symbols.IsModel(type) ? ModelParameters : null;
        }

        /// <summary>The name operations of an argument: itself, or the elements of an array creation or collection expression.</summary>
        private static IEnumerable<IOperation> ConstantNames(IOperation value)
        {
            value = Unwrap(value);
            IEnumerable<IOperation> elements = value switch
            {
                IArrayCreationOperation { Initializer: { } initializer } => initializer.ElementValues,
                ICollectionExpressionOperation collection => collection.Elements,
                _ => new[] { value },
            };
            foreach (var element in elements)
                yield return Unwrap(element);
        }

        private static IOperation Unwrap(IOperation operation)
        {
            while (operation is IConversionOperation conversion) operation = conversion.Operand;
            return operation;
        }
    }
}
