using System.Collections.Generic;

namespace Flora.Cli.Examples;

/// <summary>One method's adapters trained on the target task.</summary>
/// <param name="Method">FLoRA or LoRA (at FLoRA's budget).</param>
/// <param name="TrainableParameters">The adapters' trainable parameters.</param>
/// <param name="TrainLossPerEpoch">The mean training loss of each epoch.</param>
/// <param name="Metric">The target test metric after training.</param>
/// <param name="AdapterPath">The saved adapter file.</param>
internal sealed record ExampleRun(FloraMethod Method, long TrainableParameters, IReadOnlyList<double> TrainLossPerEpoch, double Metric, string AdapterPath);

/// <summary>What an example measured.</summary>
/// <param name="BaseParameters">The network's parameters (all trained while pretraining).</param>
/// <param name="PretrainLossPerEpoch">The mean pretraining loss of each epoch.</param>
/// <param name="SourceMetric">The pretrained network's metric on the source test images.</param>
/// <param name="TargetMetricBefore">The pretrained network's metric on the target test images, before any adapter.</param>
/// <param name="BasePath">The pretrained network's weights (TorchSharp's <c>save</c>), the base the adapter files apply to.</param>
/// <param name="Runs">FLoRA's run, then LoRA's.</param>
internal sealed record ExampleReport(long BaseParameters, IReadOnlyList<double> PretrainLossPerEpoch, double SourceMetric, double TargetMetricBefore,
    string BasePath, IReadOnlyList<ExampleRun> Runs);
