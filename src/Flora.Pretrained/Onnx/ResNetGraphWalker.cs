using System.Collections.Generic;
using System.Linq;

namespace Flora.Pretrained.Onnx;

/// <summary>
/// Finds a ResNet's layers in an ONNX graph by following its data flow from the graph input: the stem
/// (Conv → BatchNormalization → Relu → MaxPool), then residual blocks until an AveragePool produces the graph output.
/// Which Conv of a block is <c>conv1</c> and which the projection is decided by topology (the projection's
/// BatchNormalization feeds the Add; <c>conv1</c>'s feeds a Relu), never by node or initializer order or names.
/// </summary>
internal sealed class ResNetGraphWalker
{
    private readonly OnnxGraph _graph;

    private ResNetGraphWalker(OnnxGraph graph) => _graph = graph;

    /// <summary>Walks <paramref name="graph"/>; a structure that is not a ResNet is an error naming the node and tensor.</summary>
    public static ResNetGraph Walk(OnnxGraph graph) => new ResNetGraphWalker(graph).Walk();

    private ResNetGraph Walk()
    {
        if (_graph.Inputs.Count != 1)
            throw Error(null, $"expected one image input, the graph has {_graph.Inputs.Count} ({string.Join(", ", _graph.Inputs)})");
        string x = _graph.Inputs[0];
        var stemConv = Conv(Only(x, "Conv"));
        var stemBn = BatchNorm(Only(Out(stemConv.Node), "BatchNormalization"));
        var stemRelu = Only(Out(stemBn.Node), "Relu");
        var maxPool = Only(Out(stemRelu), "MaxPool");
        x = Out(maxPool);
        var blocks = new List<ResidualBlockNodes>();
        while (true)
        {
            var readers = _graph.ConsumersOf(x);
            if (readers.Count == 1 && readers[0].OpType == "AveragePool")
            {
                var pool = readers[0];
                if (!_graph.Outputs.Contains(Out(pool)))
                    throw Error(pool.Label, $"the AveragePool's output '{Out(pool)}' is not the graph output ({string.Join(", ", _graph.Outputs)})");
                return new ResNetGraph(stemConv, stemBn, maxPool, blocks, pool);
            }
            var block = Block(x, readers);
            blocks.Add(block.Nodes);
            x = block.Output;
        }
    }

    private (ResidualBlockNodes Nodes, string Output) Block(string x, IReadOnlyList<OnnxNode> readers)
    {
        var convs = readers.Where(n => n.OpType == "Conv").ToArray();
        var others = readers.Where(n => n.OpType != "Conv" && n.OpType != "Add").ToArray();
        if (others.Length > 0 || convs.Length is < 1 or > 2)
            throw Error(x, $"expected a residual block reading this tensor (one or two Conv and the Add of the shortcut), found {Describe(readers)}");
        ConvNode? conv1 = null, projection = null;
        BatchNormNode? bn1 = null, projectionBn = null;
        OnnxNode? relu1 = null;
        foreach (var c in convs)
        {
            var conv = Conv(c);
            var bn = BatchNorm(Only(Out(c), "BatchNormalization"));
            var next = _graph.ConsumersOf(Out(bn.Node));
            if (next.Count == 1 && next[0].OpType == "Relu" && conv1 is null)
                (conv1, bn1, relu1) = (conv, bn, next[0]);
            else if (next.Count == 1 && next[0].OpType == "Add" && projection is null)
                (projection, projectionBn) = (conv, bn);
            else
                throw Error(Out(bn.Node), $"expected a Relu (the block's first layer) or the shortcut's Add reading this tensor, found {Describe(next)}");
        }
        if (conv1 is null || bn1 is null || relu1 is null)
            throw Error(x, "no Conv → BatchNormalization → Relu (the block's conv1) reads this tensor");
        if (convs.Length == 2 && projection is null)
            throw Error(x, "two Conv read this tensor but neither is a projection shortcut (Conv → BatchNormalization → Add)");
        var conv2 = Conv(Only(Out(relu1), "Conv"));
        var bn2 = BatchNorm(Only(Out(conv2.Node), "BatchNormalization"));
        var add = Only(Out(bn2.Node), "Add");
        string shortcut = projectionBn is null ? x : Out(projectionBn.Node);
        if (add.Inputs.Count != 2 || !add.Inputs.Contains(Out(bn2.Node)) || !add.Inputs.Contains(shortcut))
            throw Error(add.Label, $"expected the Add of '{Out(bn2.Node)}' and the shortcut '{shortcut}', it adds {string.Join(" and ", add.Inputs)}");
        var relu = Only(Out(add), "Relu");
        return (new ResidualBlockNodes(conv1, bn1, conv2, bn2, projection, projectionBn), Out(relu));
    }

    private ConvNode Conv(OnnxNode node)
    {
        if (node.Inputs.Count is < 2 or > 3)
            throw Error(node.Label, $"a Conv with {node.Inputs.Count} inputs (expected data, weight and an optional bias)");
        var weight = _graph.Initializer(node.Inputs[1], node);
        var bias = node.Inputs.Count == 3 && node.Inputs[2].Length > 0 ? _graph.Initializer(node.Inputs[2], node) : null;
        return new ConvNode(node, weight, bias);
    }

    private BatchNormNode BatchNorm(OnnxNode node)
    {
        if (node.Inputs.Count != 5)
            throw Error(node.Label, $"a BatchNormalization with {node.Inputs.Count} inputs (expected data, scale, bias, mean, variance)");
        if (node.Outputs.Count != 1)
            throw Error(node.Label, $"a BatchNormalization with {node.Outputs.Count} outputs: only inference graphs (one output) are supported");
        float epsilon = node.Floats.TryGetValue("epsilon", out var e) ? e : 1e-5f;
        return new BatchNormNode(node, _graph.Initializer(node.Inputs[1], node), _graph.Initializer(node.Inputs[2], node),
            _graph.Initializer(node.Inputs[3], node), _graph.Initializer(node.Inputs[4], node), epsilon);
    }

    /// <summary>The one node reading <paramref name="tensor"/>, which must be a <paramref name="opType"/>.</summary>
    private OnnxNode Only(string tensor, string opType)
    {
        var readers = _graph.ConsumersOf(tensor);
        if (readers.Count != 1 || readers[0].OpType != opType)
            throw Error(tensor, $"expected exactly one {opType} reading this tensor, found {Describe(readers)}");
        return readers[0];
    }

    private string Out(OnnxNode node) =>
        node.Outputs.Count == 1 ? node.Outputs[0] : throw Error(node.Label, $"a {node.OpType} with {node.Outputs.Count} outputs (expected 1)");

    private static string Describe(IReadOnlyList<OnnxNode> nodes) =>
        nodes.Count == 0 ? "none" : string.Join(", ", nodes.Select(n => $"{n.OpType} '{n.Label}'"));

    private PretrainedModelException Error(string? tensor, string message) => new(_graph.File, tensor, message);
}
