using System.Collections.Generic;

namespace Flora.Pretrained.Onnx;

/// <summary>A Conv node with its weight (and bias, when the exporter wrote one).</summary>
internal sealed record ConvNode(OnnxNode Node, OnnxTensor Weight, OnnxTensor? Bias);

/// <summary>A BatchNormalization node with its scale, bias, running mean and running variance.</summary>
internal sealed record BatchNormNode(OnnxNode Node, OnnxTensor Scale, OnnxTensor Bias, OnnxTensor Mean, OnnxTensor Variance, float Epsilon);

/// <summary>A residual block as found in the graph: conv1 → bn1 → relu → conv2 → bn2 → add(shortcut) → relu.</summary>
internal sealed record ResidualBlockNodes(ConvNode Conv1, BatchNormNode Bn1, ConvNode Conv2, BatchNormNode Bn2,
    ConvNode? ProjectionConv, BatchNormNode? ProjectionBn);

/// <summary>The layers of a ResNet graph in data-flow order: stem, max pool, residual blocks, final average pool.</summary>
internal sealed record ResNetGraph(ConvNode StemConv, BatchNormNode StemBn, OnnxNode MaxPool,
    IReadOnlyList<ResidualBlockNodes> Blocks, OnnxNode AveragePool);
