namespace Flora.Cli.Examples;

/// <summary>The sizes and schedule of an example run: the defaults take about a minute on 2 CPU cores.</summary>
internal sealed record ExampleSettings
{
    /// <summary>Training images per class, for pretraining (MNIST) and for adapting (Fashion-MNIST).</summary>
    public int TrainPerClass { get; init; } = 300;

    /// <summary>Test images per class of each data set.</summary>
    public int TestPerClass { get; init; } = 100;

    /// <summary>Epochs of pretraining every weight, and then of training each method's adapters.</summary>
    public int Epochs { get; init; } = 3;

    /// <summary>Images per optimizer step.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>AdamW's learning rate while pretraining every weight.</summary>
    public double PretrainLearningRate { get; init; } = 1e-2;

    /// <summary>AdamW's learning rate while training adapters (FLoRA and LoRA alike).</summary>
    public double AdapterLearningRate { get; init; } = 1e-2;

    /// <summary>Seed of the weights, the data samples, the shuffling and the noise.</summary>
    public int Seed { get; init; } = 1;
}
