using System;
using System.Collections.Generic;
using System.Linq;

namespace Flora.Pretrained.Onnx;

/// <summary>A float initializer of an ONNX graph: its name, dimensions and values in row-major order.</summary>
internal sealed record OnnxTensor(string Name, long[] Shape, float[] Data)
{
    /// <summary>The shape as <c>[a, b, …]</c>, for messages.</summary>
    public string ShapeText => ShapeToText(Shape);

    /// <summary>A shape as <c>[a, b, …]</c>.</summary>
    public static string ShapeToText(IEnumerable<long> shape) => "[" + string.Join(", ", shape) + "]";
}

/// <summary>One node of an ONNX graph with the attributes this package reads (integer lists and floats).</summary>
internal sealed record OnnxNode(
    string OpType,
    string Name,
    IReadOnlyList<string> Inputs,
    IReadOnlyList<string> Outputs,
    IReadOnlyDictionary<string, long[]> Ints,
    IReadOnlyDictionary<string, float> Floats)
{
    /// <summary>The node's name, or its first output when it has none, for messages.</summary>
    public string Label => Name.Length > 0 ? Name : (Outputs.Count > 0 ? Outputs[0] : OpType);

    /// <summary>An integer-list attribute (an integer attribute as a list of one), or <paramref name="fallback"/>.</summary>
    public long[] IntsOr(string name, long[] fallback) => Ints.TryGetValue(name, out var v) ? v : fallback;
}

/// <summary>
/// An ONNX graph reduced to what the weight mapper needs: nodes in file order, float initializers by name, and who
/// produces and who consumes each tensor, so layers are found by following the data flow.
/// </summary>
internal sealed class OnnxGraph
{
    private readonly Dictionary<string, List<OnnxNode>> _consumers = new();

    public OnnxGraph(string file, IReadOnlyList<OnnxNode> nodes, IReadOnlyDictionary<string, OnnxTensor> initializers,
        IReadOnlyList<string> inputs, IReadOnlyList<string> outputs)
    {
        File = file;
        Nodes = nodes;
        Initializers = initializers;
        Inputs = inputs.Where(i => !initializers.ContainsKey(i)).ToArray();
        Outputs = outputs;
        foreach (var node in nodes)
            foreach (var input in node.Inputs.Distinct())
            {
                if (!_consumers.TryGetValue(input, out var list))
                    _consumers[input] = list = new List<OnnxNode>();
                list.Add(node);
            }
    }

    /// <summary>The file the graph came from (for messages).</summary>
    public string File { get; }

    /// <summary>The nodes in file order.</summary>
    public IReadOnlyList<OnnxNode> Nodes { get; }

    /// <summary>The float initializers by name.</summary>
    public IReadOnlyDictionary<string, OnnxTensor> Initializers { get; }

    /// <summary>The graph inputs that are not initializers.</summary>
    public IReadOnlyList<string> Inputs { get; }

    /// <summary>The graph outputs.</summary>
    public IReadOnlyList<string> Outputs { get; }

    /// <summary>The nodes reading <paramref name="tensor"/>.</summary>
    public IReadOnlyList<OnnxNode> ConsumersOf(string tensor) =>
        _consumers.TryGetValue(tensor, out var list) ? list : Array.Empty<OnnxNode>();

    /// <summary>The initializer <paramref name="name"/>, or an error naming the node that reads it.</summary>
    public OnnxTensor Initializer(string name, OnnxNode reader) =>
        Initializers.TryGetValue(name, out var t)
            ? t
            : throw new PretrainedModelException(File, name, $"input of node '{reader.Label}' ({reader.OpType}) is not a float initializer");
}
