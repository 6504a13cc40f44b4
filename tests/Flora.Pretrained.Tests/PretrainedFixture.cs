namespace Flora.Pretrained.Tests;

/// <summary>One pretrained network (eval mode) and the onnxruntime sessions of the original graphs, shared by the tests.</summary>
public sealed class PretrainedFixture : IDisposable
{
    private readonly Lazy<ResNet18> _model = new(() =>
    {
        var model = PretrainedModels.ResNet18();
        model.eval();
        return model;
    });

    private readonly Lazy<object> _reference = new(() => OnnxReference.ResNet18());
    private readonly Lazy<object> _preprocess = new(OnnxReference.Preprocess);

    /// <summary>The network with ImageNet weights, in eval mode.</summary>
    public ResNet18 Model => _model.Value;

    internal OnnxReference Reference => (OnnxReference)_reference.Value;

    internal OnnxReference PreprocessReference => (OnnxReference)_preprocess.Value;

    public void Dispose()
    {
        if (_model.IsValueCreated) _model.Value.Dispose();
        if (_reference.IsValueCreated) Reference.Dispose();
        if (_preprocess.IsValueCreated) PreprocessReference.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class PretrainedCollection : ICollectionFixture<PretrainedFixture>
{
    public const string Name = "pretrained";
}
