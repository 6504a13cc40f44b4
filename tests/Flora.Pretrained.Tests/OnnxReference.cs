using System.IO;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Tensor = TorchSharp.torch.Tensor;
using Onnx;

namespace Flora.Pretrained.Tests;

/// <summary>
/// The original graphs, run by onnxruntime. Their inputs are declared with batch 1; the reference copy makes the batch
/// axis symbolic (in memory) so one session takes a batch.
/// </summary>
internal sealed class OnnxReference : IDisposable
{
    private readonly InferenceSession _session;

    private OnnxReference(InferenceSession session) => _session = session;

    /// <summary>ResNet18.onnx with a symbolic batch axis (and symbolic height and width when <paramref name="anySize"/>).</summary>
    public static OnnxReference ResNet18(bool anySize = false) => Open(PretrainedFiles.ResNet18Onnx, anySize);

    /// <summary>ResNetPreprocess.onnx with a symbolic batch axis.</summary>
    public static OnnxReference Preprocess() => Open(PretrainedFiles.ResNetPreprocessOnnx);

    private static OnnxReference Open(string path, bool anySize = false)
    {
        ModelProto model;
        using (var stream = File.OpenRead(path))   // shared read: the tests load the same file in parallel
            model = ModelProto.Parser.ParseFrom(stream);
        var graph = model.Graph;
        foreach (var value in graph.Input.Concat(graph.Output))
            if (value.Type?.TensorType?.Shape is { Dim.Count: > 0 } shape)
                for (int d = 0; d < (anySize ? shape.Dim.Count : 1); d++)
                    shape.Dim[d] = new TensorShapeProto.Types.Dimension { DimParam = "d" + d };
        graph.ValueInfo.Clear();
        var options = new SessionOptions { IntraOpNumThreads = 2, GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL };
        return new OnnxReference(new InferenceSession(model.ToByteArray(), options));
    }

    /// <summary>Runs the graph on <paramref name="input"/> (float32, CPU) and returns its single output.</summary>
    public Tensor Run(Tensor input)
    {
        using var contiguous = input.contiguous().to(ScalarType.Float32);
        var data = contiguous.data<float>().ToArray();
        var dims = contiguous.shape.Select(d => (int)d).ToArray();
        var name = _session.InputMetadata.Keys.Single();
        using var results = _session.Run(new[] { NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>(data, dims)) });
        var output = results.Single().AsTensor<float>();
        return tensor(output.ToArray(), output.Dimensions.ToArray().Select(d => (long)d).ToArray());
    }

    public void Dispose() => _session.Dispose();
}
