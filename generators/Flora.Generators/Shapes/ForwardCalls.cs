// Shared by the generator and the analyzers (linked source): which `target.forward(x)` calls skip an adapter, and which
// `target.forward(x)` and `target.call(x)` calls the generator routes straight to the adapter with an interceptor. One
// decision, so FLORA010 warns exactly where a forward call is not intercepted.
using System;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace Flora.Generators
{
    /// <summary>Why a <c>forward(x)</c> call on a hook-bound target is not intercepted.</summary>
    internal enum ForwardCallBlocker
    {
        /// <summary>Interceptable: a direct <c>member.forward(x)</c> inside the type that declares the member.</summary>
        None,
        /// <summary>The call is outside the type that declares the target (another class, a derived model).</summary>
        OutsideType,
        /// <summary>The receiver is a local initialised from the target: the generator follows members, not variables.</summary>
        ThroughLocal,
        /// <summary><c>member?.forward(x)</c>.</summary>
        ConditionalAccess,
        /// <summary>A forward of several inputs (a MultiheadAttention's query, key, value, …): only <c>forward(x)</c> is intercepted.</summary>
        SeveralInputs,
    }

    /// <summary>Whether this compilation lets the generator emit interceptors.</summary>
    internal enum InterceptionState
    {
        On,
        /// <summary><c>&lt;FloraInterceptForward&gt;false&lt;/FloraInterceptForward&gt;</c>.</summary>
        OffByProperty,
        /// <summary>The compiler was not given <c>InterceptorsNamespaces</c> with our namespace (no Flora targets, or an old SDK).</summary>
        NamespaceNotEnabled,
    }

    /// <summary>
    /// A <c>forward(x)</c> or <c>call(x)</c> call on a <c>[FloraTarget]</c> member that keeps its base layer (the adapter
    /// runs in hooks, which <c>forward</c> skips and <c>call</c> reaches at a cost).
    /// </summary>
    internal sealed class ForwardCall
    {
        public ForwardCall(ISymbol member, ITypeSymbol receiverType, ForwardCallBlocker blocker, string? local, bool isForward)
        {
            Member = member;
            ReceiverType = receiverType;
            Blocker = blocker;
            Local = local;
            IsForward = isForward;
        }

        /// <summary>Whether the call is <c>forward(x)</c> (which skips the adapter unless intercepted) rather than <c>call(x)</c>.</summary>
        public bool IsForward { get; }

        /// <summary>The target member the call reaches.</summary>
        public ISymbol Member { get; }

        /// <summary>The interceptor's <c>this</c> parameter: the member's declared type for <c>forward</c>, the method's type for <c>call</c>.</summary>
        public ITypeSymbol ReceiverType { get; }

        public ForwardCallBlocker Blocker { get; }

        /// <summary>The local's name for <see cref="ForwardCallBlocker.ThroughLocal"/>.</summary>
        public string? Local { get; }
    }

    internal static class ForwardCalls
    {
        /// <summary>The namespace of the generated interceptors, which <c>InterceptorsNamespaces</c> must list.</summary>
        public const string InterceptorsNamespace = "Flora.Generated.Interceptors";

        /// <summary>The MSBuild property (made compiler-visible by Flora.targets) that turns interception off.</summary>
        public const string OptOutProperty = "FloraInterceptForward";

        public const string OptOutBuildProperty = "build_property." + OptOutProperty;

        /// <summary>Cheap syntax test for the generator's predicate: <c>a.forward(x)</c>, <c>a.call(x)</c> (or with <c>?.</c>), one argument.</summary>
        public static bool IsLayerCallSyntax(SyntaxNode node) =>
            node is InvocationExpressionSyntax { ArgumentList.Arguments.Count: 1 } invocation
            && invocation.Expression switch
            {
                MemberAccessExpressionSyntax access => IsLayerCallName(access.Name.Identifier.ValueText),
                MemberBindingExpressionSyntax binding => IsLayerCallName(binding.Name.Identifier.ValueText),
                _ => false,
            };

        private static bool IsLayerCallName(string name) => name == "forward" || name == "call";

        /// <summary>
        /// <paramref name="propertyValue"/> is <c>build_property.FloraInterceptForward</c> (null when absent): only
        /// <c>false</c> turns interception off; otherwise it is on when the compiler's <c>InterceptorsNamespaces</c> (or the
        /// .NET 8 preview name) lists our namespace or a namespace containing it, as the SDK passes it in the parse options' features.
        /// </summary>
        public static InterceptionState State(string? propertyValue, ParseOptions? options)
        {
            if (string.Equals(propertyValue?.Trim(), "false", StringComparison.OrdinalIgnoreCase)) return InterceptionState.OffByProperty;
            if (options is null) return InterceptionState.NamespaceNotEnabled;
            foreach (string key in new[] { "InterceptorsNamespaces", "InterceptorsPreviewNamespaces" })
            {
                if (!options.Features.TryGetValue(key, out string? list) || list is null) continue;
                foreach (string entry in list.Split(';'))
                {
                    string ns = entry.Trim();
                    if (ns.Length > 0 && (ns == InterceptorsNamespace || InterceptorsNamespace.StartsWith(ns + ".", StringComparison.Ordinal)))
                        return InterceptionState.On;
                }
            }
            return InterceptionState.NamespaceNotEnabled;
        }

        /// <summary>
        /// The call, when it is <c>forward(…)</c> or <c>call(…)</c> (TorchSharp's forward and hook-running call; several inputs for a MultiheadAttention) on a
        /// hook-bound <c>[FloraTarget]</c> member, reached directly, through <c>?.</c>, or through a local initialised from the
        /// member; else null (a target that holds its adapter's wrapper runs the adapter in <c>forward</c> already).
        /// </summary>
        public static ForwardCall? Classify(IInvocationOperation invocation, FloraSymbols symbols, CancellationToken cancellationToken)
        {
            var method = invocation.TargetMethod;
            if (!IsLayerCallName(method.Name) || method.IsStatic || method.IsExtensionMethod || method.Parameters.Length == 0
                || invocation.Arguments.Length != method.Parameters.Length) return null;
            if (invocation.Syntax is not InvocationExpressionSyntax syntax) return null;

            var blocker = ForwardCallBlocker.None;
            string? local = null;
            IOperation? receiver = invocation.Instance;
            if (receiver is IConditionalAccessInstanceOperation)
            {
                blocker = ForwardCallBlocker.ConditionalAccess;
                receiver = ConditionalReceiver(invocation);
            }
            if (receiver is ILocalReferenceOperation localReference)
            {
                blocker = ForwardCallBlocker.ThroughLocal;
                local = localReference.Local.Name;
                receiver = Initializer(localReference.Local, invocation.SemanticModel, cancellationToken);
            }
            ISymbol? member = receiver switch
            {
                IFieldReferenceOperation field => field.Field,
                IPropertyReferenceOperation property => property.Property,
                _ => null,
            };
            if (member is null || member.ContainingType is null || !symbols.IsTarget(member)) return null;
            var receiverType = LayerShapeReader.MemberType(member);
            if (receiverType is null || invocation.SemanticModel is not { } semanticModel || !IsHookBound(member, receiverType, semanticModel.Compilation, cancellationToken)) return null;
            if (blocker == ForwardCallBlocker.None && method.Parameters.Length != 1) blocker = ForwardCallBlocker.SeveralInputs;
            if (blocker == ForwardCallBlocker.None && !IsInside(semanticModel, syntax, member.ContainingType, cancellationToken)) blocker = ForwardCallBlocker.OutsideType;
            // The interceptor's `this` matches the intercepted method's type: the member's type for its forward override,
            // TorchSharp's Module<Tensor, Tensor> for call.
            bool isForward = method.Name == "forward";
            return new ForwardCall(member, isForward ? receiverType : method.ContainingType, blocker, local, isForward);
        }

        /// <summary>
        /// Whether the target keeps its base layer (the adapter runs in hooks, which <c>forward</c> skips): a TorchSharp layer
        /// type (sealed, so never the wrapper), or a member of another module type that cannot store the adapter (read-only, or a
        /// type the adapter does not convert to). The generator's attach code stores the wrapper under the same rule.
        /// </summary>
        public static bool IsHookBound(ISymbol member, ITypeSymbol memberType, Compilation compilation, CancellationToken cancellationToken)
        {
            if (LayerShapeReader.KindOf(memberType) != LayerKind.Unsupported) return true;
            var kind = LayerShapeReader.Read(member, compilation, cancellationToken).Kind;
            if (kind == LayerKind.Unsupported) return false; // not an adaptable target (FLORA006)
            bool writable = member switch
            {
                IFieldSymbol f => !f.IsReadOnly && !f.IsConst,
                IPropertySymbol p => p.SetMethod is { IsInitOnly: false },
                _ => false,
            };
            if (!writable) return true;
            var adapter = compilation.GetTypeByMetadataName("Flora." + AdapterTypeName(kind));
            return adapter is null || !compilation.ClassifyCommonConversion(adapter, memberType).IsImplicit;
        }

        /// <summary>The FLoRA adapter type of a layer kind (the typed property's type; what a writable member must accept).</summary>
        public static string AdapterTypeName(LayerKind kind) => FloraLayerKinds.RowOf(kind).FloraAdapterTypeName;

        /// <summary>Whether <paramref name="syntax"/> sits in <paramref name="type"/>'s code (any partial part, nested types, lambdas, local functions).</summary>
        private static bool IsInside(SemanticModel semanticModel, SyntaxNode syntax, INamedTypeSymbol type, CancellationToken cancellationToken)
        {
            var definition = type.OriginalDefinition;
            for (ISymbol? s = semanticModel.GetEnclosingSymbol(syntax.SpanStart, cancellationToken); s is not null; s = s.ContainingSymbol)
                if (s is INamedTypeSymbol t && SymbolEqualityComparer.Default.Equals(t.OriginalDefinition, definition)) return true;
            return false;
        }

        private static IOperation? ConditionalReceiver(IOperation operation)
        {
            for (var parent = operation.Parent; parent is not null; parent = parent.Parent)
                if (parent is IConditionalAccessOperation access) return access.Operation;
            return null;
        }

        /// <summary>A local's initialiser (conversions removed) when the local is declared with one and never a ref.</summary>
        private static IOperation? Initializer(ILocalSymbol local, SemanticModel? semanticModel, CancellationToken cancellationToken)
        {
            if (semanticModel is null || local.IsRef || local.DeclaringSyntaxReferences.Length != 1) return null;
            if (local.DeclaringSyntaxReferences[0].GetSyntax(cancellationToken) is not VariableDeclaratorSyntax { Initializer.Value: { } value }) return null;
            if (value.SyntaxTree != semanticModel.SyntaxTree) return null;
            var operation = semanticModel.GetOperation(value, cancellationToken);
            while (operation is IConversionOperation conversion) operation = conversion.Operand;
            return operation;
        }

        /// <summary>The FLORA010 reason for a call the generator does not intercept, as the message's second argument.</summary>
        public static string Reason(ForwardCall call, InterceptionState state) => call.Blocker switch
        {
            ForwardCallBlocker.OutsideType =>
                "the call is outside '" + call.Member.ContainingType.Name + "', and the generator intercepts forward calls only inside the type that declares the target",
            ForwardCallBlocker.ThroughLocal =>
                "the call goes through the local '" + call.Local + "', and the generator intercepts only calls on the member itself",
            ForwardCallBlocker.ConditionalAccess =>
                "a conditional call ('?.') is not intercepted",
            ForwardCallBlocker.SeveralInputs =>
                "the generator intercepts only one-tensor forward(x) calls, and this one takes several inputs",
            _ => state == InterceptionState.OffByProperty
                ? "interception is off in this project (FloraInterceptForward is false)"
                : "interception is not enabled in this compilation (InterceptorsNamespaces lacks " + InterceptorsNamespace
                  + "; it needs the Flora package's build targets and the .NET 9 SDK or later)",
        };

        /// <summary>Whether the generator emits an interceptor for the call.</summary>
        public static bool IsIntercepted(ForwardCall call, InterceptionState state) =>
            call.Blocker == ForwardCallBlocker.None && state == InterceptionState.On;
    }
}
