using System.IO;
using Flora.Pretrained.Loading;
using Flora.Pretrained.Onnx;
using Onnx;

namespace Flora.Pretrained.Tests;

/// <summary>Missing, unreadable and altered model files fail with errors that name the file and the tensor.</summary>
public sealed class LoadingErrorTests
{
    private static readonly Lazy<ModelProto> Original = new(() =>
    {
        using var stream = File.OpenRead(PretrainedFiles.ResNet18Onnx);
        return ModelProto.Parser.ParseFrom(stream);
    });

    /// <summary>A copy of the original graph, altered in memory by <paramref name="alter"/>, as a mapper input.</summary>
    private static OnnxGraph Altered(Action<GraphProto, ResNetGraph> alter)
    {
        var graph = Original.Value.Graph.Clone();
        alter(graph, ResNetGraphWalker.Walk(OnnxFile.FromProto("ResNet18.onnx", graph)));
        return OnnxFile.FromProto("altered/ResNet18.onnx", graph);
    }

    [Fact]
    public void A_missing_file_names_the_file_and_where_it_comes_from()
    {
        string path = Path.Combine(Path.GetTempPath(), "flora-missing-" + Guid.NewGuid().ToString("N"), "ResNet18.onnx");
        var e = Assert.Throws<PretrainedModelException>(() => PretrainedModels.LoadResNet18(path));
        Assert.Equal(path, e.File);
        Assert.StartsWith(path + ": file not found", e.Message, StringComparison.Ordinal);
        Assert.Contains("Microsoft.ML.DnnImageFeaturizer.ResNet18", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_that_is_not_onnx_names_the_file()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x01, 0x02 });
            var e = Assert.Throws<PretrainedModelException>(() => PretrainedModels.LoadResNet18(path));
            Assert.Equal(path, e.File);
            Assert.Contains("not a readable ONNX model", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_weight_of_the_wrong_shape_names_the_tensor_the_layer_and_both_shapes()
    {
        string? tampered = null;
        var graph = Altered((proto, found) =>
        {
            tampered = found.Blocks[4].Conv2.Weight.Name;   // layer3.0.conv2, found by data flow
            var t = proto.Initializer.Single(i => i.Name == tampered);
            t.Dims.Clear();
            t.Dims.AddRange(new long[] { 256, 256, 1, 1 });
            t.FloatData.Clear();
            t.FloatData.AddRange(new float[256 * 256]);
        });
        using var model = new ResNet18();
        var e = Assert.Throws<PretrainedModelException>(() => ResNetWeightMapper.Load(graph, model));
        Assert.Equal(tampered, e.Tensor);
        Assert.Equal($"altered/ResNet18.onnx: '{tampered}': shape [256, 256, 1, 1] does not fit 'layer3.0.conv2.weight': expected [256, 256, 3, 3]", e.Message);
    }

    [Fact]
    public void A_batch_norm_epsilon_other_than_torchsharps_is_an_error()
    {
        string? node = null;
        var graph = Altered((proto, found) =>
        {
            node = found.Blocks[8].Bn2.Node.Name;   // layer4.2.bn2
            proto.Node.Single(n => n.Name == node).Attribute.Single(a => a.Name == "epsilon").F = 1e-3f;
        });
        using var model = new ResNet18();
        var e = Assert.Throws<PretrainedModelException>(() => ResNetWeightMapper.Load(graph, model));
        Assert.Equal(node, e.Tensor);
        Assert.Contains("epsilon 0.001 differs from TorchSharp's BatchNorm2d epsilon 1E-05 (layer4.2.bn2)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_graph_with_a_block_too_few_is_an_error_naming_the_count()
    {
        // Cut the last block out: the tensor that fed it now feeds the average pool.
        var graph = Altered((proto, found) =>
        {
            var last = found.Blocks[^1];
            string blockInput = last.Conv1.Node.Inputs[0];
            proto.Node.Single(n => n.OpType == "AveragePool").Input[0] = blockInput;
            var add = proto.Node.Single(n => n.OpType == "Add" && n.Input.Contains(last.Bn2.Node.Outputs[0]));
            add.Input[add.Input.IndexOf(blockInput)] = last.Bn2.Node.Outputs[0];   // the cut block reads no shared tensor
            foreach (var n in new[] { last.Conv1.Node, last.Bn1.Node, last.Conv2.Node, last.Bn2.Node })
                proto.Node.Remove(proto.Node.Single(p => p.Name == n.Name));
        });
        using var model = new ResNet18();
        var e = Assert.Throws<PretrainedModelException>(() => ResNetWeightMapper.Load(graph, model));
        Assert.Contains("the graph has 8 residual blocks, ResNet18 expects 9 (stages of 2, 2, 2, 3)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_conv_bias_is_folded_into_the_batch_norm_mean()
    {
        var graph = Altered((proto, found) =>
        {
            var conv = proto.Node.Single(n => n.Name == found.StemConv.Node.Name);
            var bias = new TensorProto { Name = "stem_bias", DataType = (int)TensorProto.Types.DataType.Float };
            bias.Dims.Add(64);
            bias.FloatData.AddRange(Enumerable.Range(0, 64).Select(i => 0.25f * i));
            proto.Initializer.Add(bias);
            conv.Input.Add("stem_bias");
        });
        using var model = new ResNet18();
        ResNetWeightMapper.Load(graph, model);
        var original = ResNetGraphWalker.Walk(OnnxFile.FromProto("ResNet18.onnx", Original.Value.Graph)).StemBn.Mean.Data;
        var mean = model.Bn1.running_mean!.data<float>().ToArray();
        for (int i = 0; i < 64; i++)
            Assert.Equal(original[i] - 0.25f * i, mean[i], 5);
    }
}
