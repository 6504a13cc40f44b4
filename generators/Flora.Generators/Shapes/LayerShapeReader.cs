// Shared by the generator and the analyzers (linked source): reads a [FloraTarget] member's layer kind and, when its
// constructor arguments are constants, its weight shape. Never throws on malformed code: unknown means null.
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace Flora.Generators
{
    /// <summary>A target layer as read from source: its kind and its weight shape when constant.</summary>
    internal sealed class LayerShape
    {
        public LayerShape(LayerKind kind, long[]? weightShape, long outChannels = 0)
        {
            Kind = kind;
            WeightShape = weightShape;
            OutChannels = weightShape is null ? 0 : outChannels;
        }

        public LayerKind Kind { get; }

        /// <summary><c>[out, in]</c> for Linear, <c>[out, in/groups, k…]</c> for convolutions, <c>[in, out/groups, k…]</c> for transposed ones, <c>in_proj_weight</c>'s <c>[3E, E]</c> for a MultiheadAttention; null when not constant.</summary>
        public long[]? WeightShape { get; }

        /// <summary>The layer's output channels (a transposed convolution's are not its weight's mode 0); 0 when the shape is not constant.</summary>
        public long OutChannels { get; }
    }

    /// <summary>Reads target layers the way the generator and the analyzers both need them.</summary>
    internal static class LayerShapeReader
    {
        /// <summary>The kind of a TorchSharp layer type (<c>TorchSharp.Modules.Conv2d</c> …), or Unsupported.</summary>
        public static LayerKind KindOf(ITypeSymbol? type) =>
            type is INamedTypeSymbol named ? FloraLayerKinds.KindOf(named.ContainingNamespace?.ToDisplayString(), named.Name) : LayerKind.Unsupported;

        /// <summary>
        /// Whether <paramref name="type"/> is one of TorchSharp's normalisation layers that <c>[FloraModel(SaveNormLayers = true)]</c>
        /// saves: <c>TorchSharp.Modules.BatchNorm1d/2d/3d</c>, <c>InstanceNorm1d/2d/3d</c>, <c>LayerNorm</c>, <c>GroupNorm</c>.
        /// </summary>
        public static bool IsNormLayer(ITypeSymbol? type) =>
            type is INamedTypeSymbol named && NormLayerNames.Contains(named.ContainingNamespace?.ToDisplayString(), named.Name);

        /// <summary>The type of a field or property member, or null for anything else.</summary>
        public static ITypeSymbol? MemberType(ISymbol member) => member switch
        {
            IFieldSymbol field => field.Type,
            IPropertySymbol property => property.Type,
            _ => null,
        };

        /// <summary>
        /// Reads <paramref name="member"/>: its kind (from its declared type, or from the expression that creates it when
        /// the member is typed more generally) and its weight shape from a field/property initializer or the single
        /// constructor assignment that creates it.
        /// </summary>
        public static LayerShape Read(ISymbol member, Compilation compilation, CancellationToken cancellationToken)
        {
            LayerKind declared = KindOf(MemberType(member));
            IInvocationOperation? creation = FindCreation(member, compilation, cancellationToken);
            LayerKind kind = declared != LayerKind.Unsupported ? declared : KindOf(creation?.Type);
            if (kind == LayerKind.Unsupported || creation is null || KindOf(creation.Type) != kind) return new LayerShape(kind, null);
            long[]? weight = ShapeFrom(kind, creation, out long outChannels);
            return new LayerShape(kind, weight, outChannels);
        }

        /// <summary>
        /// Why <paramref name="member"/> cannot be a target whatever its layer (null when it can): static members, indexers,
        /// explicit interface implementations, properties without a getter, and members whose type cannot be passed where
        /// TorchSharp's <c>Module&lt;Tensor, Tensor&gt;</c> is expected. Generator and analyzers share this rule.
        /// </summary>
        public static string? MemberProblem(ISymbol member, Compilation compilation)
        {
            if (member.IsStatic) return "is static";
            if (member is IPropertySymbol property)
            {
                if (property.IsIndexer) return "is an indexer";
                if (!property.ExplicitInterfaceImplementations.IsEmpty) return "is an explicit interface implementation";
                if (property.GetMethod is null) return "has no getter";
            }
            else if (member is not IFieldSymbol)
            {
                return "is not a field or property";
            }
            var type = MemberType(member);
            var module = ModuleOfTensor(compilation);
            if (type is null || type.TypeKind == TypeKind.Error) return "has a type that does not resolve";
            // A MultiheadAttention (query, key, value, … → output and weights) is adapted through its projections.
            if (module is not null && !compilation.HasImplicitConversion(type, module) && KindOf(type) != LayerKind.MultiheadAttention)
                return $"is typed {type.ToDisplayString()}, which is not a Module<Tensor, Tensor>";
            return null;
        }

        /// <summary>TorchSharp's <c>torch.nn.Module&lt;Tensor, Tensor&gt;</c>, or null when TorchSharp is not referenced.</summary>
        public static INamedTypeSymbol? ModuleOfTensor(Compilation compilation)
        {
            var module = compilation.GetTypeByMetadataName("TorchSharp.torch+nn+Module`2");
            var tensor = compilation.GetTypeByMetadataName("TorchSharp.torch+Tensor");
            return module is null || tensor is null ? null : module.Construct(tensor, tensor);
        }

        /// <summary>The argument bound to <paramref name="parameter"/> in <paramref name="creation"/> (given or default).</summary>
        public static IArgumentOperation? Argument(IInvocationOperation creation, string parameter) =>
            creation.Arguments.FirstOrDefault(a => a.Parameter?.Name == parameter);

        /// <summary>
        /// The trainable parameters of a module to save (<c>[FloraModuleToSave]</c>, or a norm layer under
        /// <c>SaveNormLayers</c>) when the <c>torch.nn</c> factory call that creates it has constant arguments; null when
        /// unknown (another factory, a user's module, a shape known only at run time, invalid sizes). The generator's
        /// <c>FloraTrainableParameters</c> and the budget diagnostic FLORA008 both add this. A count past
        /// <see cref="long.MaxValue"/> saturates to it. Buffers (BatchNorm's running statistics) are not parameters.
        /// <list type="bullet">
        /// <item><c>Linear(inputSize, outputSize, hasBias = true)</c>: <c>in·out + out</c> with a bias.</item>
        /// <item><c>Conv1d/2d/3d(in_channels, out_channels, kernel_size, …, groups = 1, bias = true)</c>: <c>out·(in/groups)·Πk + out</c> with a bias; <c>ConvTranspose1d/2d/3d</c> the same count (weight <c>[in, out/groups, k…]</c>).</item>
        /// <item><c>BatchNorm1d/2d/3d(num_features, …, affine = true)</c>, <c>InstanceNorm1d/2d/3d(num_features, …, affine = false)</c>: <c>2·num_features</c> when affine, else 0.</item>
        /// <item><c>LayerNorm(normalized_shape, eps, elementwise_affine = true, bias = true)</c> (a long or a long[]): <c>Π shape</c> per weight and bias.</item>
        /// <item><c>GroupNorm(num_groups, num_channels, eps, affine = true)</c>: <c>2·num_channels</c> when affine, else 0.</item>
        /// <item><c>Embedding(num_embeddings, embedding_dims, …)</c>: <c>num·dims</c>.</item>
        /// </list>
        /// </summary>
        public static long? SavedModuleParameters(ISymbol member, Compilation compilation, CancellationToken cancellationToken)
        {
            var creation = FindFactoryCall(member, compilation, cancellationToken);
            if (creation is null) return null;
            var declared = MemberType(member);
            if (declared is null || declared.TypeKind == TypeKind.Error || creation.Type is null || !compilation.HasImplicitConversion(creation.Type, declared)) return null;
            try
            {
                return CountModule(creation);
            }
            catch (System.OverflowException)
            {
                return long.MaxValue; // saturates, as FloraRankRules.CountTarget does: over any budget, and no meaningful constant
            }
        }

        /// <summary>The parameters of the module a <c>torch.nn</c> factory call creates, or null (see <see cref="SavedModuleParameters"/>).</summary>
        private static long? CountModule(IInvocationOperation creation)
        {
            checked
            {
                switch (creation.TargetMethod.Name)
                {
                    case "Linear":
                        if (!TryConstant(Argument(creation, "inputSize")?.Value, out long input) || !TryConstant(Argument(creation, "outputSize")?.Value, out long output)
                            || !TryBool(Argument(creation, "hasBias")?.Value, out bool linearBias) || input <= 0 || output <= 0)
                            return null;
                        return input * output + (linearBias ? output : 0);
                    case "Conv1d":
                    case "Conv2d":
                    case "Conv3d":
                    case "ConvTranspose1d":
                    case "ConvTranspose2d":
                    case "ConvTranspose3d":
                        var kind = FloraLayerKinds.KindOf(FloraLayerKinds.TorchNamespace, creation.TargetMethod.Name);
                        if (ShapeFrom(kind, creation, out long outputs) is not long[] weight || !TryBool(Argument(creation, "bias")?.Value, out bool convBias)) return null;
                        long elements = 1;
                        foreach (long size in weight) elements *= size;
                        return elements + (convBias ? outputs : 0);
                    case "BatchNorm1d":
                    case "BatchNorm2d":
                    case "BatchNorm3d":
                    case "InstanceNorm1d":
                    case "InstanceNorm2d":
                    case "InstanceNorm3d":
                        if (!TryConstant(Argument(creation, "num_features")?.Value, out long features) || features <= 0
                            || !TryBool(Argument(creation, "affine")?.Value, out bool affine))
                            return null;
                        return affine ? 2 * features : 0;
                    case "LayerNorm":
                        if (NormalizedShape(Argument(creation, "normalized_shape")?.Value) is not long normalized
                            || !TryBool(Argument(creation, "elementwise_affine")?.Value, out bool elementwise)
                            || !TryBool(Argument(creation, "bias")?.Value, out bool normBias))
                            return null;
                        return elementwise ? normalized * (normBias ? 2 : 1) : 0;
                    case "GroupNorm":
                        if (!TryConstant(Argument(creation, "num_groups")?.Value, out long groups) || !TryConstant(Argument(creation, "num_channels")?.Value, out long channels)
                            || !TryBool(Argument(creation, "affine")?.Value, out bool groupAffine) || groups <= 0 || channels <= 0 || channels % groups != 0)
                            return null;
                        return groupAffine ? 2 * channels : 0;
                    case "Embedding":
                        if (!TryConstant(Argument(creation, "num_embeddings")?.Value, out long count) || !TryConstant(Argument(creation, "embedding_dims")?.Value, out long dims)
                            || count <= 0 || dims <= 0)
                            return null;
                        return count * dims;
                    default:
                        return null;
                }
            }
        }

        /// <summary>
        /// The element count of LayerNorm's <c>normalized_shape</c>: one constant, or an array of constants
        /// (<c>new long[] { 4, 8 }</c>, <c>new[] { 4L }</c>, <c>[4, 8]</c>); null when not constant or a size is below 1.
        /// </summary>
        private static long? NormalizedShape(IOperation? operation)
        {
            if (TryConstant(operation, out long single)) return single > 0 ? single : null;
            while (operation is IConversionOperation conversion) operation = conversion.Operand;
            IEnumerable<IOperation>? elements = operation switch
            {
                IArrayCreationOperation { Initializer: { } initializer } array when array.DimensionSizes.Length == 1 => initializer.ElementValues,
                ICollectionExpressionOperation collection => collection.Elements,
                _ => null,
            };
            if (elements is null) return null;
            long product = 1;
            int axes = 0;
            foreach (var element in elements)
            {
                if (!TryConstant(element, out long size) || size <= 0) return null;
                product = checked(product * size);
                axes++;
            }
            return axes > 0 ? product : null;
        }

        /// <summary>A bool constant, through implicit conversions (a literal, a <c>const bool</c>, a default value).</summary>
        public static bool TryBool(IOperation? operation, out bool value)
        {
            value = false;
            while (operation is not null)
            {
                if (operation.ConstantValue.HasValue)
                {
                    if (operation.ConstantValue.Value is not bool b) return false;
                    value = b;
                    return true;
                }
                operation = operation is IConversionOperation conversion ? conversion.Operand : null;
            }
            return false;
        }

        /// <summary>An integral constant, through implicit conversions (<c>3</c>, <c>2 * Width</c>, a <c>const</c>).</summary>
        public static bool TryConstant(IOperation? operation, out long value)
        {
            value = 0;
            while (operation is not null)
            {
                if (operation.ConstantValue.HasValue)
                {
                    switch (operation.ConstantValue.Value)
                    {
                        case int i: value = i; return true;
                        case long l: value = l; return true;
                        case short s: value = s; return true;
                        case byte b: value = b; return true;
                        case sbyte sb: value = sb; return true;
                        case ushort us: value = us; return true;
                        case uint ui: value = ui; return true;
                        default: return false;
                    }
                }
                operation = operation is IConversionOperation conversion ? conversion.Operand : null;
            }
            return false;
        }

        private static long[]? ShapeFrom(LayerKind kind, IInvocationOperation creation, out long outputs)
        {
            outputs = 0;
            if (kind == LayerKind.Embedding)
            {
                // TorchSharp's Embedding(num_embeddings, embedding_dims, …): weight [num_embeddings, dim], its outputs the dim.
                if (!TryConstant(Argument(creation, "num_embeddings")?.Value, out long count) || !TryConstant(Argument(creation, "embedding_dims")?.Value, out long dim)) return null;
                outputs = dim;
                return count > 0 && dim > 0 ? new[] { count, dim } : null;
            }
            if (kind == LayerKind.MultiheadAttention) return AttentionShape(creation, out outputs);
            if (kind == LayerKind.Linear)
            {
                if (!TryConstant(Argument(creation, "inputSize")?.Value, out long input) || !TryConstant(Argument(creation, "outputSize")?.Value, out long output)) return null;
                outputs = output;
                return input > 0 && output > 0 ? new[] { output, input } : null;
            }
            LayerKindRow row = FloraLayerKinds.RowOf(kind);
            int axes = row.KernelAxes;
            if (!TryConstant(Argument(creation, "in_channels")?.Value, out long inChannels)
                || !TryConstant(Argument(creation, "out_channels")?.Value, out long outChannels)
                || !TryConstant(Argument(creation, "groups")?.Value, out long groups))
                return null;
            long[]? kernel = KernelSize(Argument(creation, "kernel_size")?.Value, axes);
            if (kernel is null || inChannels <= 0 || outChannels <= 0 || groups <= 0 || inChannels % groups != 0 || outChannels % groups != 0 || kernel.Any(k => k <= 0))
                return null;
            outputs = outChannels;
            // A transposed convolution's weight is [in, out/groups, k…].
            return (row.Transposed ? new[] { inChannels, outChannels / groups } : new[] { outChannels, inChannels / groups }).Concat(kernel).ToArray();
        }

        /// <summary>
        /// TorchSharp's <c>MultiheadAttention(embeded_dim, num_heads, dropout, bias, add_bias_kv, add_zero_attn, kdim, vdim)</c>:
        /// its <c>in_proj_weight</c> <c>[3E, E]</c> (<see cref="FloraLayerKinds.AdaptedWeights"/> adds <c>out_proj</c>'s
        /// <c>[E, E]</c>), its outputs E; null unless the runtime can adapt it as written: E and the heads constant with E
        /// divisible by them, no attention dropout, and kdim and vdim unset or E (one in_proj_weight).
        /// </summary>
        private static long[]? AttentionShape(IInvocationOperation creation, out long outputs)
        {
            outputs = 0;
            // The embedding size is the first parameter (TorchSharp spells its name "embeded_dim" in torch.nn, "embedded_dim" elsewhere).
            IOperation? embedDim = creation.Arguments.FirstOrDefault(a => a.Parameter?.Ordinal == 0)?.Value;
            if (!TryConstant(embedDim, out long e) || !TryConstant(Argument(creation, "num_heads")?.Value, out long heads)
                || e <= 0 || heads <= 0 || e % heads != 0 || !IsZero(Argument(creation, "dropout"))
                || !IsUnsetOr(Argument(creation, "kdim"), e) || !IsUnsetOr(Argument(creation, "vdim"), e))
                return null;
            outputs = e;
            return new[] { 3 * e, e };
        }

        /// <summary>Whether a floating-point argument is the constant 0.</summary>
        private static bool IsZero(IArgumentOperation? argument)
        {
            if (argument is null) return false;
            if (argument.ArgumentKind == ArgumentKind.DefaultValue && argument.Parameter is { HasExplicitDefaultValue: true } parameter)
                return parameter.ExplicitDefaultValue is { } fallback && System.Convert.ToDouble(fallback, System.Globalization.CultureInfo.InvariantCulture) == 0;
            IOperation? operation = argument.Value;
            while (operation is not null && !operation.ConstantValue.HasValue && operation is IConversionOperation conversion) operation = conversion.Operand;
            return operation?.ConstantValue is { HasValue: true, Value: { } value } && System.Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture) == 0;
        }

        /// <summary>Whether an optional size argument is null (given or by default: unset) or the constant <paramref name="size"/>.</summary>
        private static bool IsUnsetOr(IArgumentOperation? argument, long size)
        {
            if (argument is null || argument.ArgumentKind == ArgumentKind.DefaultValue && argument.Parameter is { HasExplicitDefaultValue: true, ExplicitDefaultValue: null })
                return true;
            IOperation? operation = argument.Value;
            while (operation is not null && !operation.ConstantValue.HasValue && operation is IConversionOperation conversion) operation = conversion.Operand;
            if (operation?.ConstantValue is { HasValue: true, Value: null }) return true;
            return TryConstant(operation, out long value) && value == size;
        }

        /// <summary>A kernel size given as one constant (repeated per axis) or as a tuple of constants.</summary>
        private static long[]? KernelSize(IOperation? operation, int axes)
        {
            if (TryConstant(operation, out long single)) return Enumerable.Repeat(single, axes).ToArray();
            while (operation is IConversionOperation conversion) operation = conversion.Operand;
            if (operation is not ITupleOperation tuple || tuple.Elements.Length != axes) return null;
            var sizes = new long[axes];
            for (int i = 0; i < axes; i++)
                if (!TryConstant(tuple.Elements[i], out sizes[i])) return null;
            return sizes;
        }

        /// <summary>
        /// The type of the module the <c>torch.nn.*(...)</c> factory call in the member's initializer (or single constructor
        /// assignment) creates, e.g. <c>BatchNorm2d</c> for a <c>Module&lt;Tensor, Tensor&gt;</c> member; null when there is none.
        /// </summary>
        public static ITypeSymbol? CreatedType(ISymbol member, Compilation compilation, CancellationToken cancellationToken) =>
            FindFactoryCall(member, compilation, cancellationToken)?.Type;

        /// <summary>
        /// The <c>track_running_stats</c> of the norm layer the <c>torch.nn</c> factory call in the member's initializer (or
        /// single constructor assignment) creates, given or defaulted (BatchNorm: true, InstanceNorm: false), when constant;
        /// null when there is no such call or the value is not a constant.
        /// </summary>
        public static bool? TracksRunningStats(ISymbol member, Compilation compilation, CancellationToken cancellationToken) =>
            FindFactoryCall(member, compilation, cancellationToken) is { } creation && Argument(creation, "track_running_stats") is { } argument
            && TryBool(argument.Value, out bool value)
                ? value
                : null;

        /// <summary>The <c>torch.nn.Linear/ConvNd/Embedding/MultiheadAttention(...)</c> call in the member's initializer or in its single constructor assignment.</summary>
        private static IInvocationOperation? FindCreation(ISymbol member, Compilation compilation, CancellationToken cancellationToken) =>
            FindFactoryCall(member, compilation, cancellationToken) is { } call && call.TargetMethod.Name is "Linear" or "Conv1d" or "Conv2d" or "Conv3d"
                or "ConvTranspose1d" or "ConvTranspose2d" or "ConvTranspose3d" or "Embedding" or "MultiheadAttention"
                ? call
                : null;

        /// <summary>
        /// The type of the object the member's initializer (or single constructor assignment) creates with <c>new T(…)</c>,
        /// e.g. a nested model's; null when it is created otherwise.
        /// </summary>
        public static INamedTypeSymbol? CreatedObjectType(ISymbol member, Compilation compilation, CancellationToken cancellationToken) =>
            SingleCreation(member, compilation, cancellationToken) is IObjectCreationOperation { Type: INamedTypeSymbol type } ? type : null;

        /// <summary>The <c>torch.nn.*(...)</c> factory call in the member's initializer or in its single constructor assignment.</summary>
        private static IInvocationOperation? FindFactoryCall(ISymbol member, Compilation compilation, CancellationToken cancellationToken) =>
            SingleCreation(member, compilation, cancellationToken) is IInvocationOperation invocation && IsTorchNnFactory(invocation.TargetMethod) ? invocation : null;

        /// <summary>What the member's initializer, or else its single constructor assignment, evaluates (conversions stripped); null when there is not exactly one.</summary>
        private static IOperation? SingleCreation(ISymbol member, Compilation compilation, CancellationToken cancellationToken)
        {
            var expressions = new List<ExpressionSyntax>();
            foreach (var reference in member.DeclaringSyntaxReferences)
            {
                var node = reference.GetSyntax(cancellationToken);
                if (node is VariableDeclaratorSyntax { Initializer: { } fieldInit }) expressions.Add(fieldInit.Value);
                else if (node is PropertyDeclarationSyntax { Initializer: { } propertyInit }) expressions.Add(propertyInit.Value);
            }
            if (expressions.Count == 0 && member.ContainingType is { } type)
            {
                foreach (var constructor in type.InstanceConstructors)
                    foreach (var reference in constructor.DeclaringSyntaxReferences)
                    {
                        if (reference.GetSyntax(cancellationToken) is not ConstructorDeclarationSyntax declaration) continue;
                        SyntaxNode? body = (SyntaxNode?)declaration.Body ?? declaration.ExpressionBody;
                        if (body is null) continue;
                        SemanticModel model = compilation.GetSemanticModel(declaration.SyntaxTree);
                        foreach (var assignment in body.DescendantNodes().OfType<AssignmentExpressionSyntax>())
                        {
                            if (SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(assignment.Left, cancellationToken).Symbol, member))
                                expressions.Add(assignment.Right);
                        }
                    }
            }
            if (expressions.Count != 1) return null;
            var expression = expressions[0];
            if (!compilation.ContainsSyntaxTree(expression.SyntaxTree)) return null;
            IOperation? operation = compilation.GetSemanticModel(expression.SyntaxTree).GetOperation(expression, cancellationToken);
            while (operation is IConversionOperation conversion) operation = conversion.Operand;
            return operation;
        }

        private static bool IsTorchNnFactory(IMethodSymbol method) =>
            method.IsStatic
            && method.ContainingType is { Name: "nn", ContainingType: { Name: "torch", ContainingNamespace: { Name: "TorchSharp" } } };
    }
}
