using System;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Flora.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace Flora.Generators
{
    public sealed partial class FloraGenerator
    {
        /// <summary>
        /// Call sites → interceptor specs. Each <c>target.forward(x)</c> or <c>target.call(x)</c> that <see cref="ForwardCalls"/>
        /// (the rule FLORA010 shares) finds interceptable becomes an <see cref="InterceptionSite"/> on its own; the sites are grouped into one
        /// <see cref="InterceptorsSpec"/> per model after collection, and only when the compilation enables interception.
        /// </summary>
        internal static class InterceptionParser
        {
            /// <summary>Whether the project enables interception: the opt-out property and the compiler's InterceptorsNamespaces.</summary>
            public static bool IsEnabled(AnalyzerConfigOptionsProvider options, ParseOptions parseOptions)
            {
                options.GlobalOptions.TryGetValue(ForwardCalls.OptOutBuildProperty, out string? value);
                return ForwardCalls.State(value, parseOptions) == InterceptionState.On;
            }

            /// <summary>The site of one <c>forward(x)</c> or <c>call(x)</c> invocation, or null when it is not an interceptable call on a hook-bound target.</summary>
            public static InterceptionSite? ParseSite(GeneratorSyntaxContext context, CancellationToken cancellationToken)
            {
                if (context.Node is not InvocationExpressionSyntax syntax
                    || context.SemanticModel.GetOperation(syntax, cancellationToken) is not IInvocationOperation invocation) return null;
                var call = FloraSymbols.Resolve(context.SemanticModel.Compilation) is { } symbols ? ForwardCalls.Classify(invocation, symbols, cancellationToken) : null;
                if (call is null || call.Blocker != ForwardCallBlocker.None) return null;
                if (syntax.Expression is not MemberAccessExpressionSyntax { Name: var name }) return null;
                var location = context.SemanticModel.GetInterceptableLocation(syntax, cancellationToken);
                if (location is null) return null;
                var position = name.GetLocation().GetLineSpan().StartLinePosition;
                return new InterceptionSite
                {
                    TypeKey = GeneratedFileNames.TypeKey(call.Member.ContainingType),
                    DisplayName = call.Member.ContainingType.Name,
                    MemberName = call.Member.Name,
                    Method = call.IsForward ? "forward" : "call",
                    ReceiverType = call.ReceiverType.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat),
                    ReceiverName = call.ReceiverType.Name,
                    Version = location.Version,
                    Data = location.Data,
                    FilePath = syntax.SyntaxTree.FilePath,
                    Line = position.Line + 1,
                    Column = position.Character + 1,
                };
            }

            /// <summary>One spec per model, ordered by type, with unique file names; sites by file and position.</summary>
            public static ImmutableArray<InterceptorsSpec> BuildInterceptors(ImmutableArray<InterceptionSite> sites, CancellationToken cancellationToken)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var specs = sites.GroupBy(s => s.TypeKey).Select(group => new InterceptorsSpec
                {
                    TypeKey = group.Key,
                    DisplayName = group.First().DisplayName,
                    Sites = new EquatableArray<InterceptionSite>(group
                        .GroupBy(s => (s.Version, s.Data)).Select(g => g.First()) // a site is seen once even if reported twice
                        .OrderBy(s => s.FilePath, StringComparer.Ordinal).ThenBy(s => s.Line).ThenBy(s => s.Column)),
                });
                return GeneratedFileNames.Assign(specs, s => s.TypeKey, ".Flora.Interceptors.g.cs", (s, hint) => s with { HintName = hint });
            }
        }
    }
}
