using System;
using System.Collections.Generic;
using TorchSharp;
using static TorchSharp.torch;

namespace Flora.Data;

/// <summary>
/// The per-pixel normalisation of a data set: a pixel byte <c>x</c> becomes <c>(x / 255 − Mean) / Std</c>.
/// </summary>
/// <param name="Mean">The mean of the pixel values scaled to [0, 1].</param>
/// <param name="Std">Their standard deviation; must be positive.</param>
public readonly record struct Normalisation(float Mean, float Std)
{
    /// <summary>The usual MNIST constants: mean 0.1307, std 0.3081.</summary>
    public static Normalisation Mnist => new(0.1307f, 0.3081f);

    /// <summary>The usual Fashion-MNIST constants: mean 0.2860, std 0.3530.</summary>
    public static Normalisation FashionMnist => new(0.2860f, 0.3530f);

    /// <summary>The normalised value of a pixel byte, computed as the batches compute it.</summary>
    public float Apply(byte pixel) => ((pixel / 255f) - Mean) / Std;

    /// <summary>The normalised values of the bytes 0..255.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The mean is not finite or the std is not positive and finite.</exception>
    internal float[] CreateLookup()
    {
        if (!float.IsFinite(Mean) || !float.IsFinite(Std) || !(Std > 0f))
        {
            throw new ArgumentOutOfRangeException("normalisation", this, "A normalisation needs a finite mean and a positive, finite std.");
        }

        var lookup = new float[256];
        for (int value = 0; value < lookup.Length; value++)
        {
            lookup[value] = Apply((byte)value);
        }

        return lookup;
    }
}

/// <summary>
/// An in-memory set of 28 × 28 grey-scale images with labels 0..9 (MNIST, Fashion-MNIST or a subset of one).
/// </summary>
/// <remarks>
/// The data stay as bytes; tensors are created per batch by <see cref="ToTensors(long[], Device?)"/> and
/// belong to the caller, who disposes them (for example with a <see cref="torch.NewDisposeScope"/>). All sampling
/// methods are deterministic given their seed, on every machine (see <see cref="SplitMix64"/>).
/// </remarks>
public sealed class ImageDataset
{
    /// <summary>The height of an image.</summary>
    public const int ImageRows = 28;

    /// <summary>The width of an image.</summary>
    public const int ImageColumns = 28;

    /// <summary>The number of pixels of an image.</summary>
    public const int PixelsPerImage = ImageRows * ImageColumns;

    /// <summary>The number of classes; labels are 0..<c>ClassCount − 1</c>.</summary>
    public const int ClassCount = 10;

    private readonly float[] _lookup;

    /// <summary>Creates a data set over the given arrays (not copied).</summary>
    /// <param name="name">A name for messages, for example <c>MNIST train</c>.</param>
    /// <param name="pixels">Count × 28 × 28 pixel bytes, image after image.</param>
    /// <param name="labels">Count labels, each 0..9.</param>
    /// <param name="normalisation">How the batches normalise the pixels.</param>
    /// <exception cref="DataException">The lengths do not match or a label is outside 0..9 (the message names its index).</exception>
    public ImageDataset(string name, byte[] pixels, byte[] labels, Normalisation normalisation)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        _lookup = normalisation.CreateLookup();
        if (pixels.Length != (long)labels.Length * PixelsPerImage)
        {
            throw new DataException(
                $"{name}: {pixels.Length:N0} pixel bytes do not match {labels.Length:N0} labels ({PixelsPerImage} pixels per 28 x 28 image).");
        }

        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] >= ClassCount)
            {
                throw new DataException($"{name}: the label at index {i} is {labels[i]}; labels must be 0..{ClassCount - 1}.");
            }
        }

        Name = name;
        Pixels = pixels;
        Labels = labels;
        Normalisation = normalisation;
    }

    /// <summary>The name used in messages.</summary>
    public string Name { get; }

    /// <summary>All pixels, <see cref="Count"/> × 28 × 28 bytes, image after image, row-major.</summary>
    public byte[] Pixels { get; }

    /// <summary>The labels, one per image, each 0..9.</summary>
    public byte[] Labels { get; }

    /// <summary>The number of images.</summary>
    public int Count => Labels.Length;

    /// <summary>The normalisation applied by the batches.</summary>
    public Normalisation Normalisation { get; }

    /// <summary>The 784 pixel bytes of one image.</summary>
    public ReadOnlySpan<byte> GetImage(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return Pixels.AsSpan(index * PixelsPerImage, PixelsPerImage);
    }

    /// <summary>How many images each class 0..9 has.</summary>
    public int[] CountPerClass()
    {
        var counts = new int[ClassCount];
        foreach (byte label in Labels)
        {
            counts[label]++;
        }

        return counts;
    }

    /// <summary>A copy of the images at <paramref name="indices"/>, in that order (repeats allowed).</summary>
    /// <param name="indices">Indices into this data set.</param>
    /// <param name="name">The name of the subset; default <c>{Name} subset</c>.</param>
    public ImageDataset Subset(int[] indices, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(indices);
        var pixels = GC.AllocateUninitializedArray<byte>(indices.Length * PixelsPerImage);
        var labels = new byte[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            int index = CheckIndex(indices[i], i);
            Pixels.AsSpan(index * PixelsPerImage, PixelsPerImage).CopyTo(pixels.AsSpan(i * PixelsPerImage));
            labels[i] = Labels[index];
        }

        return new ImageDataset(name ?? $"{Name} subset", pixels, labels, Normalisation);
    }

    /// <summary>
    /// A class-balanced random sample: <paramref name="perClass"/> images of every class, chosen with
    /// <see cref="StratifiedSplit"/> (deterministic given <paramref name="seed"/>).
    /// </summary>
    /// <exception cref="DataException">A class has fewer than <paramref name="perClass"/> images.</exception>
    public ImageDataset StratifiedSample(int perClass, int seed)
    {
        (int[] sample, _) = StratifiedSplit(Labels, perClass, 0, seed, Name);
        return Subset(sample, $"{Name} sample ({perClass} per class, seed {seed})");
    }

    /// <summary>
    /// Splits this data set into two disjoint, class-balanced parts with <see cref="StratifiedSplit"/>:
    /// <paramref name="firstPerClass"/> and <paramref name="secondPerClass"/> images of every class.
    /// </summary>
    /// <exception cref="DataException">A class has fewer than <paramref name="firstPerClass"/> + <paramref name="secondPerClass"/> images.</exception>
    public (ImageDataset First, ImageDataset Second) SplitStratified(int firstPerClass, int secondPerClass, int seed, string firstName, string secondName)
    {
        (int[] first, int[] second) = StratifiedSplit(Labels, firstPerClass, secondPerClass, seed, Name);
        return (Subset(first, firstName), Subset(second, secondName));
    }

    /// <summary>
    /// The indices 0..Count−1 in a random order that depends only on <paramref name="seed"/>, for example to shuffle an epoch.
    /// </summary>
    public long[] ShuffledIndices(long seed)
    {
        long[] indices = OrderedIndices();
        new SplitMix64(seed).Shuffle<long>(indices);
        return indices;
    }

    /// <summary>
    /// The images and labels at <paramref name="indices"/> as new tensors: images <c>[B, 1, 28, 28]</c> float32
    /// normalised with this data set's <see cref="Normalisation"/>, labels <c>[B]</c> int64. The caller owns (and
    /// disposes) them.
    /// </summary>
    /// <param name="indices">B ≥ 1 indices into this data set.</param>
    /// <param name="device">Where to create the tensors; default the CPU.</param>
    public (Tensor Images, Tensor Labels) ToTensors(long[] indices, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(indices);
        return Gather(indices, _lookup, device);
    }

    /// <inheritdoc cref="ToTensors(long[], Device?)"/>
    public (Tensor Images, Tensor Labels) ToTensors(ReadOnlySpan<long> indices, Device? device = null) => Gather(indices, _lookup, device);

    /// <summary>
    /// Like <see cref="ToTensors(long[], Device?)"/>, but normalised with <paramref name="normalisation"/>:
    /// images <c>[B, 1, 28, 28]</c> float32 with values <c>(x / 255 − mean) / std</c>, labels <c>[B]</c> int64.
    /// </summary>
    /// <param name="indices">B ≥ 1 indices into this data set.</param>
    /// <param name="normalisation">The mean and std to normalise with.</param>
    /// <param name="device">Where to create the tensors; default the CPU.</param>
    public (Tensor Images, Tensor Labels) Batch(long[] indices, Normalisation normalisation, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(indices);
        return Gather(indices, normalisation == Normalisation ? _lookup : normalisation.CreateLookup(), device);
    }

    /// <summary>
    /// The images <paramref name="start"/> .. <paramref name="start"/> + <paramref name="count"/> − 1 as tensors,
    /// like <see cref="ToTensors(long[], Device?)"/>; for evaluation in order.
    /// </summary>
    public (Tensor Images, Tensor Labels) GetBatch(int start, int count, Device? device = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        if ((long)start + count > Count)
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"The batch {start}..{(long)start + count - 1} goes past the end of {Name} ({Count} images).");
        }

        var images = GC.AllocateUninitializedArray<float>(count * PixelsPerImage);
        var labels = new long[count];
        for (int i = 0; i < count; i++)
        {
            Normalise(start + i, _lookup, images.AsSpan(i * PixelsPerImage, PixelsPerImage));
            labels[i] = Labels[start + i];
        }

        return MakeTensors(images, labels, device);
    }

    /// <summary>
    /// Consecutive index batches of at most <paramref name="batchSize"/> covering every image once: in order, or
    /// shuffled with <see cref="ShuffledIndices"/> when <paramref name="shuffleSeed"/> is given.
    /// </summary>
    public IEnumerable<long[]> BatchIndices(int batchSize, long? shuffleSeed = null, bool dropLast = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        return Iterate(shuffleSeed is { } seed ? ShuffledIndices(seed) : OrderedIndices(), batchSize, dropLast);

        static IEnumerable<long[]> Iterate(long[] order, int size, bool dropLastBatch)
        {
            for (int start = 0; start < order.Length; start += size)
            {
                int length = Math.Min(size, order.Length - start);
                if (length < size && dropLastBatch)
                {
                    yield break;
                }

                yield return order.AsSpan(start, length).ToArray();
            }
        }
    }

    /// <summary>
    /// Picks, for every class, <paramref name="firstPerClass"/> + <paramref name="secondPerClass"/> distinct indices of
    /// that class at random and returns the two disjoint index sets, each in a random order. Deterministic: the result
    /// depends only on the labels and <paramref name="seed"/>, on every machine (it uses <see cref="SplitMix64"/>, not
    /// <see cref="Random"/>).
    /// </summary>
    /// <remarks>
    /// The algorithm, fixed because results depend on it: one <see cref="SplitMix64"/> seeded with
    /// <paramref name="seed"/> (sign-extended); for class 0, 1, … 9 in turn, the indices of that class in ascending
    /// order are shuffled (Fisher–Yates) and the first <paramref name="firstPerClass"/> go to the first set, the next
    /// <paramref name="secondPerClass"/> to the second; then the first set and then the second set are shuffled once
    /// more with the same generator so that neither is grouped by class.
    /// </remarks>
    /// <exception cref="DataException">A class has too few images or a label is outside 0..9.</exception>
    public static (int[] First, int[] Second) StratifiedSplit(ReadOnlySpan<byte> labels, int firstPerClass, int secondPerClass, int seed, string? name = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(firstPerClass);
        ArgumentOutOfRangeException.ThrowIfNegative(secondPerClass);
        string what = name ?? "the data set";
        var byClass = new List<int>[ClassCount];
        for (int c = 0; c < ClassCount; c++)
        {
            byClass[c] = new List<int>();
        }

        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] >= ClassCount)
            {
                throw new DataException($"{what}: the label at index {i} is {labels[i]}; labels must be 0..{ClassCount - 1}.");
            }

            byClass[labels[i]].Add(i);
        }

        int needed = firstPerClass + secondPerClass;
        var first = new int[ClassCount * firstPerClass];
        var second = new int[ClassCount * secondPerClass];
        var random = new SplitMix64((long)seed);
        for (int c = 0; c < ClassCount; c++)
        {
            int[] members = byClass[c].ToArray();
            if (members.Length < needed)
            {
                throw new DataException($"{what}: class {c} has {members.Length:N0} images, fewer than the {needed:N0} the split needs ({firstPerClass:N0} + {secondPerClass:N0}).");
            }

            random.Shuffle<int>(members);
            members.AsSpan(0, firstPerClass).CopyTo(first.AsSpan(c * firstPerClass));
            members.AsSpan(firstPerClass, secondPerClass).CopyTo(second.AsSpan(c * secondPerClass));
        }

        random.Shuffle<int>(first);
        random.Shuffle<int>(second);
        return (first, second);
    }

    private long[] OrderedIndices()
    {
        var indices = new long[Count];
        for (int i = 0; i < indices.Length; i++)
        {
            indices[i] = i;
        }

        return indices;
    }

    private (Tensor Images, Tensor Labels) Gather(ReadOnlySpan<long> indices, float[] lookup, Device? device)
    {
        if (indices.IsEmpty)
        {
            throw new ArgumentException("A batch needs at least one index.", nameof(indices));
        }

        var images = GC.AllocateUninitializedArray<float>(indices.Length * PixelsPerImage);
        var labels = new long[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            long index = indices[i];
            if (index < 0 || index >= Count)
            {
                throw new ArgumentOutOfRangeException(nameof(indices), $"indices[{i}] = {index} is outside {Name} (0..{Count - 1}).");
            }

            Normalise((int)index, lookup, images.AsSpan(i * PixelsPerImage, PixelsPerImage));
            labels[i] = Labels[index];
        }

        return MakeTensors(images, labels, device);
    }

    private void Normalise(int index, float[] lookup, Span<float> destination)
    {
        ReadOnlySpan<byte> source = Pixels.AsSpan(index * PixelsPerImage, PixelsPerImage);
        for (int p = 0; p < source.Length; p++)
        {
            destination[p] = lookup[source[p]];
        }
    }

    private static (Tensor Images, Tensor Labels) MakeTensors(float[] images, long[] labels, Device? device)
    {
        long batch = labels.Length;
        Tensor imageTensor = torch.tensor(images, new long[] { batch, 1, ImageRows, ImageColumns }, dtype: ScalarType.Float32, device: device);
        try
        {
            Tensor labelTensor = torch.tensor(labels, new long[] { batch }, dtype: ScalarType.Int64, device: device);
            return (imageTensor, labelTensor);
        }
        catch
        {
            imageTensor.Dispose();
            throw;
        }
    }

    private int CheckIndex(int index, int position)
    {
        if (index < 0 || index >= Count)
        {
            throw new ArgumentOutOfRangeException("indices", $"indices[{position}] = {index} is outside {Name} (0..{Count - 1}).");
        }

        return index;
    }
}
