using System;
using Flora.Pretrained.Loading;
using Flora.Pretrained.Onnx;
using static TorchSharp.torch;

namespace Flora.Pretrained;

/// <summary>
/// ImageNet-pretrained networks, built as annotated Flora models with torchvision's layer names. The weights come from
/// the MIT-licensed ONNX models of the NuGet package <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c>, copied next to
/// the program at build time (<see cref="PretrainedFiles"/>); nothing is downloaded at run time.
/// </summary>
public static class PretrainedModels
{
    /// <summary>
    /// A <see cref="Flora.Pretrained.ResNet18"/> (stages of 2, 2, 2, 3 basic blocks) with the ImageNet weights of
    /// ResNet18.onnx and a freshly initialised <c>fc</c> (Linear 512 → <paramref name="numClasses"/>, PyTorch's default
    /// initialisation). Its <see cref="Flora.Pretrained.ResNet18.Features"/> equal the ONNX graph's output at 224×224
    /// (max |Δ| / max |output| below 1e-6 measured against onnxruntime); feed it <see cref="ResNet18Preprocess"/>'s output.
    /// The layers are found by following the graph's data flow and every shape and Conv/pool attribute is checked. Like torchvision's constructors it returns the model in training mode:
    /// call <c>eval()</c> for inference. BatchNorm momentum is PyTorch's 0.1 (the CNTK export's own value only matters
    /// for training in CNTK). A missing file or one that does not fit the network throws <see cref="PretrainedModelException"/>.
    /// </summary>
    public static ResNet18 ResNet18(int numClasses = 1000) => LoadResNet18(PretrainedFiles.ResNet18Onnx, numClasses);

    /// <summary>
    /// Maps <c>[N, 3, H, W]</c> RGB images with values in [0, 1] to the network's input, as ResNetPreprocess.onnx does it:
    /// channels reversed to BGR, scaled to 0–255, minus the 224×224 mean image. At 224×224 this is exactly the original
    /// preprocessing. At other sizes the mean image is resized (bilinear, <c>align_corners: false</c>) to the input's size.
    /// That choice is measured at 224, where the exact answer is known: subtracting the mean image resized to 256 and
    /// cropped back to the centre 224 moves the pooled features by 4.0e-3 (max |Δ| / max |features|), subtracting its
    /// per-channel means instead (B 103.06, G 115.90, R 123.15) by 2.8e-2.
    /// </summary>
    public static Tensor ResNet18Preprocess(Tensor rgb) => ResNetPreprocessing.Apply(rgb);

    /// <summary>Builds the network and reads <paramref name="onnxFile"/> into it (the tests point it at altered copies).</summary>
    internal static ResNet18 LoadResNet18(string onnxFile, int numClasses = 1000)
    {
        var graph = OnnxFile.Read(onnxFile);
        var model = new ResNet18(numClasses);
        try
        {
            ResNetWeightMapper.Load(graph, model);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
