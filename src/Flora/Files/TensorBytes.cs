using System;
using static TorchSharp.torch;

namespace Flora;

/// <summary>The raw bytes of CPU tensors, as safetensors files store them (little-endian, contiguous).</summary>
internal static class TensorBytes
{
    /// <summary>Bytes copied per step between a tensor and a stream (keeps each span well below 2 GiB).</summary>
    private const long DefaultChunkBytes = 1L << 30;

    /// <summary>Acts on one chunk of a tensor's bytes; it may read or write them.</summary>
    internal delegate void ChunkAction(Span<byte> chunk);

    /// <summary>Calls <paramref name="action"/> on the raw bytes of a contiguous CPU tensor, in order, in chunks of at most <paramref name="chunkBytes"/> bytes (whole elements; 1 GiB by default).</summary>
    internal static void ForEachChunk(Tensor contiguousCpu, long totalBytes, ChunkAction action, long chunkBytes = DefaultChunkBytes)
    {
        if (totalBytes == 0) return;
        if (totalBytes <= chunkBytes)
        {
            action(contiguousCpu.bytes);
            return;
        }
        long elementSize = contiguousCpu.ElementSize;
        long numel = contiguousCpu.numel();
        long step = Math.Max(1, chunkBytes / elementSize);
        using var flat = contiguousCpu.view(-1L);
        for (long start = 0; start < numel; start += step)
        {
            using var part = flat.narrow(0, start, Math.Min(step, numel - start));
            action(part.bytes);
        }
    }

    /// <summary>Throws on a big-endian platform, whose tensor bytes are not the little-endian bytes safetensors stores.</summary>
    internal static void RequireLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("Safetensors stores little-endian data; big-endian platforms are not supported.");
    }
}
