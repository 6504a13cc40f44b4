using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Google.Protobuf;
using Onnx;

namespace Flora.Pretrained.Onnx;

/// <summary>Reads an ONNX model file (protobuf, through OnnxSharp's message classes) into an <see cref="OnnxGraph"/>.</summary>
internal static class OnnxFile
{
    /// <summary>Reads <paramref name="path"/>; a missing or unparsable file is a <see cref="PretrainedModelException"/> naming it.</summary>
    public static OnnxGraph Read(string path)
    {
        if (!System.IO.File.Exists(path))
            throw new PretrainedModelException(path, null,
                "file not found. It comes from the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18 at restore and is copied " +
                "next to your program under FloraPretrained/ by Flora.Pretrained's build step: rebuild, and check that the build output has it.");
        ModelProto model;
        try
        {
            using var stream = System.IO.File.OpenRead(path);
            model = ModelProto.Parser.ParseFrom(stream);
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or IOException)
        {
            throw new PretrainedModelException(path, null, $"not a readable ONNX model ({e.Message})", e);
        }
        if (model.Graph is null)
            throw new PretrainedModelException(path, null, "the ONNX model has no graph");
        return FromProto(path, model.Graph);
    }

    /// <summary>Converts a parsed graph; tensors that are not float are left out (the mapper then names them as missing).</summary>
    public static OnnxGraph FromProto(string path, GraphProto graph)
    {
        var initializers = new Dictionary<string, OnnxTensor>();
        foreach (var t in graph.Initializer)
            if (t.DataType == (int)TensorProto.Types.DataType.Float)
                initializers[t.Name] = ToTensor(path, t);
        var nodes = graph.Node.Select(ToNode).ToArray();
        return new OnnxGraph(path, nodes, initializers,
            graph.Input.Select(i => i.Name).ToArray(), graph.Output.Select(o => o.Name).ToArray());
    }

    private static OnnxTensor ToTensor(string path, TensorProto t)
    {
        long[] shape = t.Dims.ToArray();
        long count = shape.Aggregate(1L, (a, b) => a * b);
        float[] data;
        if (t.FloatData.Count > 0)
            data = t.FloatData.ToArray();
        else if (!t.RawData.IsEmpty)
        {
            var bytes = t.RawData.Span;
            data = new float[bytes.Length / sizeof(float)];
            for (int i = 0; i < data.Length; i++)
                data[i] = System.Buffers.Binary.BinaryPrimitives.ReadSingleLittleEndian(bytes.Slice(i * sizeof(float)));
        }
        else
            data = Array.Empty<float>();
        if (data.LongLength != count)
            throw new PretrainedModelException(path, t.Name, $"holds {data.LongLength} values, its shape {OnnxTensor.ShapeToText(shape)} needs {count}");
        return new OnnxTensor(t.Name, shape, data);
    }

    private static OnnxNode ToNode(NodeProto n)
    {
        var ints = new Dictionary<string, long[]>();
        var floats = new Dictionary<string, float>();
        foreach (var a in n.Attribute)
            switch (a.Type)
            {
                case AttributeProto.Types.AttributeType.Ints: ints[a.Name] = a.Ints.ToArray(); break;
                case AttributeProto.Types.AttributeType.Int: ints[a.Name] = new[] { a.I }; break;
                case AttributeProto.Types.AttributeType.Float: floats[a.Name] = a.F; break;
            }
        return new OnnxNode(n.OpType, n.Name, n.Input.ToArray(), n.Output.ToArray(), ints, floats);
    }
}
