using System.Linq;
using Flora.Pretrained.Onnx;

namespace Flora.Pretrained.Loading;

/// <summary>
/// Reads the mean image out of <c>ResNetPreprocess.onnx</c> by following its data flow, checking the convention on the
/// way: input (RGB, 0–255) → Split along channels into R, G, B → Concat as B, G, R → Sub the mean image → output.
/// </summary>
internal static class ResNetPreprocessGraph
{
    /// <summary>The mean image <c>[1, 3, H, W]</c> in BGR order, 0–255.</summary>
    public static OnnxTensor MeanImage(OnnxGraph graph)
    {
        if (graph.Inputs.Count != 1)
            throw Error(graph, null, $"expected one image input, the graph has {graph.Inputs.Count}");
        var split = Only(graph, graph.Inputs[0], "Split");
        if (!split.IntsOr("axis", new[] { 0L }).SequenceEqual(new[] { 1L }) || split.Outputs.Count != 3)
            throw Error(graph, split.Label, "expected a Split of the channel axis (1) into three");
        var concat = Only(graph, split.Outputs[0], "Concat");
        var bgr = new[] { split.Outputs[2], split.Outputs[1], split.Outputs[0] };
        if (!concat.Inputs.SequenceEqual(bgr) || !concat.IntsOr("axis", new[] { 0L }).SequenceEqual(new[] { 1L }))
            throw Error(graph, concat.Label, $"expected the channels concatenated in reverse order (RGB → BGR), found {string.Join(", ", concat.Inputs)}");
        var sub = Only(graph, concat.Outputs[0], "Sub");
        if (sub.Inputs.Count != 2 || sub.Inputs[0] != concat.Outputs[0] || !graph.Outputs.Contains(sub.Outputs[0]))
            throw Error(graph, sub.Label, "expected the graph output to be the BGR image minus a constant");
        var mean = graph.Initializer(sub.Inputs[1], sub);
        if (mean.Shape.Length != 4 || mean.Shape[0] != 1 || mean.Shape[1] != 3)
            throw Error(graph, mean.Name, $"shape {mean.ShapeText}: expected a mean image [1, 3, H, W]");
        return mean;
    }

    private static OnnxNode Only(OnnxGraph graph, string tensor, string opType)
    {
        var readers = graph.ConsumersOf(tensor);
        return readers.Count == 1 && readers[0].OpType == opType
            ? readers[0]
            : throw Error(graph, tensor, $"expected exactly one {opType} reading this tensor, found {string.Join(", ", readers.Select(r => r.OpType))}");
    }

    private static PretrainedModelException Error(OnnxGraph graph, string? tensor, string message) => new(graph.File, tensor, message);
}
