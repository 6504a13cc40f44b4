// Shared by the runtime, the source generator and the analyzers (linked source): the one table of the TorchSharp layer
// types FLoRA adapts, their kind and their FLoRA adapter type. Plain C# for netstandard2.0, no TorchSharp.
using System.Collections.Generic;

namespace Flora
{
    /// <summary>The TorchSharp layer kinds FLoRA adapts.</summary>
    internal enum LayerKind
    {
        Unsupported,
        Linear,
        Conv1d,
        Conv2d,
        Conv3d,
        ConvTranspose1d,
        ConvTranspose2d,
        ConvTranspose3d,
        Embedding,
        MultiheadAttention,
    }

    /// <summary>One built-in layer type: its TorchSharp name (in <see cref="FloraLayerKinds.TorchNamespace"/>), kind, kernel axes and FLoRA adapter type.</summary>
    internal sealed class LayerKindRow
    {
        public LayerKindRow(string typeName, LayerKind kind, int kernelAxes, string floraAdapterTypeName, bool transposed = false)
        {
            Transposed = transposed;
            TypeName = typeName;
            Kind = kind;
            KernelAxes = kernelAxes;
            FloraAdapterTypeName = floraAdapterTypeName;
        }

        /// <summary>The TorchSharp type's name, e.g. <c>Conv2d</c>.</summary>
        public string TypeName { get; }

        public LayerKind Kind { get; }

        /// <summary>Number of kernel axes of the weight (0 for Linear and Embedding).</summary>
        public int KernelAxes { get; }

        /// <summary>Whether the weight is a transposed convolution's, <c>[in, out/groups, k…]</c> (mode 0 the input channels).</summary>
        public bool Transposed { get; }

        /// <summary>The FLoRA adapter's type name in namespace <c>Flora</c>, e.g. <c>FloraConv2d</c>.</summary>
        public string FloraAdapterTypeName { get; }
    }

    /// <summary>The built-in layer table; the runtime's dispatch, the generator and the analyzers all read it.</summary>
    internal static class FloraLayerKinds
    {
        /// <summary>The namespace of TorchSharp's layer types.</summary>
        public const string TorchNamespace = "TorchSharp.Modules";

        /// <summary>Every built-in layer type, in dispatch order (first match wins).</summary>
        public static readonly LayerKindRow[] Rows =
        {
            new LayerKindRow("Linear", LayerKind.Linear, 0, "FloraLinear"),
            new LayerKindRow("Conv1d", LayerKind.Conv1d, 1, "FloraConv1d"),
            new LayerKindRow("Conv2d", LayerKind.Conv2d, 2, "FloraConv2d"),
            new LayerKindRow("Conv3d", LayerKind.Conv3d, 3, "FloraConv3d"),
            new LayerKindRow("ConvTranspose1d", LayerKind.ConvTranspose1d, 1, "FloraConvTranspose1d", transposed: true),
            new LayerKindRow("ConvTranspose2d", LayerKind.ConvTranspose2d, 2, "FloraConvTranspose2d", transposed: true),
            new LayerKindRow("ConvTranspose3d", LayerKind.ConvTranspose3d, 3, "FloraConvTranspose3d", transposed: true),
            new LayerKindRow("Embedding", LayerKind.Embedding, 0, "FloraEmbedding"),
            // Adapted through its two projections, each a Linear view of its weights (FloraMultiheadAttention).
            new LayerKindRow("MultiheadAttention", LayerKind.MultiheadAttention, 0, "FloraMultiheadAttention"),
        };

        /// <summary>The built-in type names for messages, from the table: <c>Linear, Conv1d, … or ConvTranspose3d</c>.</summary>
        public static string DescribeTypes()
        {
            var names = new string[Rows.Length];
            for (int i = 0; i < Rows.Length; i++) names[i] = Rows[i].TypeName;
            return names.Length == 1 ? names[0] : string.Join(", ", names, 0, names.Length - 1) + " or " + names[names.Length - 1];
        }

        /// <summary>The kind of the type <paramref name="typeName"/> in <paramref name="typeNamespace"/>, or Unsupported.</summary>
        public static LayerKind KindOf(string? typeNamespace, string typeName)
        {
            if (typeNamespace != TorchNamespace) return LayerKind.Unsupported;
            foreach (var row in Rows)
                if (row.TypeName == typeName) return row.Kind;
            return LayerKind.Unsupported;
        }

        /// <summary>
        /// The weights the adapters of one target act on, each <c>[out, in/groups, k…]</c> (or a transposed convolution's
        /// <c>[in, out/groups, k…]</c>), given the layer's weight shape: the weight itself, or for a MultiheadAttention, whose
        /// weight shape is <c>in_proj_weight</c>'s <c>[3E, E]</c>, that and <c>out_proj.weight</c> <c>[E, E]</c> (one adapter each).
        /// </summary>
        public static long[][] AdaptedWeights(LayerKind kind, IReadOnlyList<long> weightShape)
        {
            var weight = new long[weightShape.Count];
            for (int i = 0; i < weight.Length; i++) weight[i] = weightShape[i];
            return kind == LayerKind.MultiheadAttention ? new[] { weight, new[] { weight[1], weight[1] } } : new[] { weight };
        }

        /// <summary>The row of a supported kind.</summary>
        public static LayerKindRow RowOf(LayerKind kind)
        {
            foreach (var row in Rows)
                if (row.Kind == kind) return row;
            throw new System.ArgumentException("no layer type of kind " + kind, nameof(kind));
        }
    }
}
