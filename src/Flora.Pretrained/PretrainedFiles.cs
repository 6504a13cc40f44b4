using System;
using System.IO;

namespace Flora.Pretrained;

/// <summary>
/// Where the model files are: <c>FloraPretrained/</c> next to the program, where Flora.Pretrained's build step copies
/// them from the restored NuGet package <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c> (nothing is downloaded at run time),
/// or the folder the environment variable <c>FLORA_PRETRAINED_DIR</c> names (for a deployment that keeps the 64 MB of
/// weights outside the program's folder).
/// </summary>
public static class PretrainedFiles
{
    /// <summary>The folder under the program's base directory that holds the model files.</summary>
    public const string FolderName = "FloraPretrained";

    /// <summary>The environment variable that, when set, names the folder holding the model files instead.</summary>
    public const string DirectoryVariable = "FLORA_PRETRAINED_DIR";

    /// <summary><c>$FLORA_PRETRAINED_DIR</c> when set, else <c>{AppContext.BaseDirectory}/FloraPretrained</c>.</summary>
    public static string Directory =>
        Environment.GetEnvironmentVariable(DirectoryVariable) is { Length: > 0 } folder ? folder : Path.Combine(AppContext.BaseDirectory, FolderName);

    /// <summary>The ResNet-18 graph (CNTK 2.6 export, ONNX opset 8, ends at the pooled 512 features).</summary>
    public static string ResNet18Onnx => Path.Combine(Directory, "ResNet18.onnx");

    /// <summary>The preprocessing graph (RGB → BGR, minus the mean image).</summary>
    public static string ResNetPreprocessOnnx => Path.Combine(Directory, "ResNetPreprocess.onnx");
}
