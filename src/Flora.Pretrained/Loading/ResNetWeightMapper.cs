using System;
using System.Linq;
using Flora.Pretrained.Onnx;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flora.Pretrained.Loading;

/// <summary>
/// Copies the layers that <see cref="ResNetGraphWalker"/> found onto a <see cref="ResNet18"/>, in data-flow order, checking
/// every tensor's shape and every Conv's and pool's geometry against the module first. A Conv bias (CNTK may export one)
/// is folded into the following BatchNorm's running mean, exactly: <c>BN(conv(x) + b)</c> is BN with mean <c>μ − b</c>.
/// </summary>
internal static class ResNetWeightMapper
{
    /// <summary>TorchSharp's (and PyTorch's) BatchNorm2d epsilon, which the modules are built with.</summary>
    public const double TorchBatchNormEpsilon = 1e-5;

    /// <summary>Loads <paramref name="graph"/>'s weights into <paramref name="model"/>; any mismatch is a <see cref="PretrainedModelException"/>.</summary>
    public static void Load(OnnxGraph graph, ResNet18 model)
    {
        var nodes = ResNetGraphWalker.Walk(graph);
        var mapper = new Context(graph.File);
        mapper.CheckMaxPool(nodes.MaxPool);
        mapper.CheckAveragePool(nodes.AveragePool);
        int expected = ResNet18.BlocksPerStage.Sum();
        if (nodes.Blocks.Count != expected)
            throw new PretrainedModelException(graph.File, null,
                $"the graph has {nodes.Blocks.Count} residual blocks, ResNet18 expects {expected} (stages of {string.Join(", ", ResNet18.BlocksPerStage)})");

        using var noGrad = no_grad();
        mapper.ConvBn(nodes.StemConv, nodes.StemBn, model.Conv1, model.Bn1, stride: 2, "conv1", "bn1");
        int index = 0;
        var stages = model.Stages;
        for (int s = 0; s < stages.Count; s++)
            for (int b = 0; b < stages[s].Count; b++)
            {
                var block = stages[s][b];
                var found = nodes.Blocks[index++];
                string path = $"layer{s + 1}.{b}";
                mapper.ConvBn(found.Conv1, found.Bn1, block.Conv1, block.Bn1, block.Stride, path + ".conv1", path + ".bn1");
                mapper.ConvBn(found.Conv2, found.Bn2, block.Conv2, block.Bn2, stride: 1, path + ".conv2", path + ".bn2");
                if ((found.ProjectionConv is null) != (block.Projection is null))
                    throw new PretrainedModelException(graph.File, found.Conv1.Node.Label,
                        $"the residual block read into '{path}' has {(found.ProjectionConv is null ? "an identity" : "a projection")} shortcut, " +
                        $"the module has {(block.Projection is null ? "an identity" : "a projection (downsample)")}");
                if (found.ProjectionConv is not null && found.ProjectionBn is not null && block.Projection is not null)
                    mapper.ConvBn(found.ProjectionConv, found.ProjectionBn, block.Projection.Conv, block.Projection.Bn,
                        block.Stride, path + ".downsample.0", path + ".downsample.1");
            }
    }

    private sealed class Context(string file)
    {
        public void ConvBn(ConvNode conv, BatchNormNode bn, Conv2d module, BatchNorm2d norm, int stride, string convPath, string bnPath)
        {
            var weight = module.weight ?? throw new InvalidOperationException($"'{convPath}' has no weight");
            CheckShape(conv.Weight, weight.shape, convPath + ".weight");
            if (module.bias is not null)
                throw new InvalidOperationException($"'{convPath}' has a bias; the network's convolutions have none");
            CheckConvGeometry(conv.Node, weight.shape, stride, convPath);
            long channels = weight.shape[0];
            if (bn.Node.Inputs[0] != conv.Node.Outputs[0])
                throw new PretrainedModelException(file, bn.Node.Label, $"does not read the output of '{conv.Node.Label}' ({convPath})");
            if (Math.Abs(bn.Epsilon - TorchBatchNormEpsilon) > 1e-3 * TorchBatchNormEpsilon)
                throw new PretrainedModelException(file, bn.Node.Label,
                    $"epsilon {bn.Epsilon:R} differs from TorchSharp's BatchNorm2d epsilon {TorchBatchNormEpsilon:R} ({bnPath})");
            float[] mean = bn.Mean.Data;
            if (conv.Bias is not null)
            {
                CheckShape(conv.Bias, new[] { channels }, convPath + ".bias (folded into " + bnPath + ".running_mean)");
                CheckShape(bn.Mean, new[] { channels }, bnPath + ".running_mean");
                mean = mean.Zip(conv.Bias.Data, (m, b) => m - b).ToArray();
            }
            Copy(bn.Scale, norm.weight ?? throw new InvalidOperationException($"'{bnPath}' has no weight"), bnPath + ".weight");
            Copy(bn.Bias, norm.bias ?? throw new InvalidOperationException($"'{bnPath}' has no bias"), bnPath + ".bias");
            Copy(bn.Mean with { Data = mean }, norm.running_mean ?? throw new InvalidOperationException($"'{bnPath}' has no running_mean"), bnPath + ".running_mean");
            Copy(bn.Variance, norm.running_var ?? throw new InvalidOperationException($"'{bnPath}' has no running_var"), bnPath + ".running_var");
            Copy(conv.Weight, weight, convPath + ".weight");
        }

        /// <summary>
        /// Stride, dilation, groups and kernel as the module has them; padding as the module's symmetric <c>p = (k − 1)/2</c>
        /// at the begin, and <c>p</c> or <c>p − (stride − 1)</c> at the end: a stride-s window never reaches those last
        /// <c>stride − 1</c> padded positions on sizes divisible by the stride, so both compute the same there.
        /// </summary>
        private void CheckConvGeometry(OnnxNode node, long[] weightShape, int stride, string path)
        {
            long k = weightShape[2];
            Expect(node, "strides", node.IntsOr("strides", new[] { 1L, 1L }), new long[] { stride, stride }, path);
            Expect(node, "dilations", node.IntsOr("dilations", new[] { 1L, 1L }), new long[] { 1, 1 }, path);
            Expect(node, "group", node.IntsOr("group", new[] { 1L }), new long[] { 1 }, path);
            if (node.Ints.ContainsKey("kernel_shape"))
                Expect(node, "kernel_shape", node.Ints["kernel_shape"], new[] { k, weightShape[3] }, path);
            CheckPads(node, (k - 1) / 2, stride, path);
        }

        public void CheckMaxPool(OnnxNode pool)
        {
            Expect(pool, "kernel_shape", pool.IntsOr("kernel_shape", Array.Empty<long>()), new long[] { 3, 3 }, "maxpool");
            Expect(pool, "strides", pool.IntsOr("strides", new[] { 1L, 1L }), new long[] { 2, 2 }, "maxpool");
            CheckPads(pool, 1, 2, "maxpool");
        }

        /// <summary>The graph's 7×7 average pool is global at 224×224; the module pools globally (adaptive) at every size.</summary>
        public void CheckAveragePool(OnnxNode pool)
        {
            Expect(pool, "kernel_shape", pool.IntsOr("kernel_shape", Array.Empty<long>()), new long[] { 7, 7 }, "avgpool");
            Expect(pool, "strides", pool.IntsOr("strides", new[] { 1L, 1L }), new long[] { 1, 1 }, "avgpool");
            Expect(pool, "pads", pool.IntsOr("pads", new long[4]), new long[4], "avgpool");
        }

        private void CheckPads(OnnxNode node, long p, int stride, string path)
        {
            long[] pads = node.IntsOr("pads", new long[4]);
            bool ok = pads.Length == 4 && pads[0] == p && pads[1] == p
                && pads.Skip(2).All(e => e == p || e == p - (stride - 1));
            if (!ok)
                throw new PretrainedModelException(file, node.Label,
                    $"pads {OnnxTensor.ShapeToText(pads)} do not fit '{path}' (padding {p}, stride {stride}): expected begin {p} and end {p}" +
                    (stride > 1 ? $" or {p - (stride - 1)}" : ""));
        }

        private void Expect(OnnxNode node, string attribute, long[] actual, long[] expected, string path)
        {
            if (!actual.SequenceEqual(expected))
                throw new PretrainedModelException(file, node.Label,
                    $"{attribute} {OnnxTensor.ShapeToText(actual)} differs from '{path}': expected {OnnxTensor.ShapeToText(expected)}");
        }

        private void CheckShape(OnnxTensor source, long[] expected, string path)
        {
            if (!source.Shape.SequenceEqual(expected))
                throw new PretrainedModelException(file, source.Name,
                    $"shape {source.ShapeText} does not fit '{path}': expected {OnnxTensor.ShapeToText(expected)}");
        }

        private void Copy(OnnxTensor source, Tensor target, string path)
        {
            CheckShape(source, target.shape, path);
            using var values = tensor(source.Data, source.Shape, dtype: target.dtype);
            target.copy_(values);
        }
    }
}
