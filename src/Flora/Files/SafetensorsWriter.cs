using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// Writes safetensors: validates every tensor and the metadata before it writes a byte, then writes the 8-byte
/// header length, the header and each tensor's little-endian data, to a byte array or atomically to a file.
/// </summary>
internal static class SafetensorsWriter
{
    /// <summary>A tensor to write and its header entry.</summary>
    private sealed record PlannedTensor(Tensor Tensor, SafetensorsHeader.Entry Entry);

    /// <summary>What a write produces: the padded header, the tensors in data order and the data buffer's length.</summary>
    private sealed record WritePlan(byte[] Header, List<PlannedTensor> Tensors, long DataLength);

    /// <inheritdoc cref="Safetensors.Save"/>
    internal static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var plan = Plan(tensors, metadata);

        string fullPath = System.IO.Path.GetFullPath(path);
        string? folder = System.IO.Path.GetDirectoryName(fullPath);
        if (folder is not null && !Directory.Exists(folder))
            throw MissingFolder(path, folder, null);
        try
        {
            AtomicFile.Write(fullPath, stream => WriteAll(stream, plan), bufferSize: 1 << 20);
        }
        catch (DirectoryNotFoundException e) when (folder is not null)
        {
            throw MissingFolder(path, folder, e); // the folder went away while saving
        }
    }

    /// <inheritdoc cref="Safetensors.Serialize"/>
    internal static byte[] Serialize(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var plan = Plan(tensors, metadata);
        long total = 8L + plan.Header.Length + plan.DataLength;
        if (total > Array.MaxLength)
            throw new ArgumentException($"The tensors take {total} bytes, more than a byte array can hold; use Safetensors.Save to write them to a file.", nameof(tensors));
        var buffer = new byte[total];
        using (var stream = new MemoryStream(buffer, writable: true))
        {
            WriteAll(stream, plan);
            if (stream.Position != total)
                throw new InvalidOperationException($"Safetensors serialization wrote {stream.Position} bytes, expected {total}; a tensor changed while it was being serialized.");
        }
        return buffer;
    }

    /// <summary>Validates the inputs and builds the padded header; touches no tensor data.</summary>
    private static WritePlan Plan(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        ArgumentNullException.ThrowIfNull(tensors);

        var planned = new List<PlannedTensor>(tensors.Count);
        long offset = 0;
        foreach (var (name, tensor) in tensors.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (name is null)
                throw new ArgumentException("A tensor name is null.", nameof(tensors));
            if (name == SafetensorsHeader.MetadataKey)
                throw new ArgumentException($"A tensor cannot be named '{SafetensorsHeader.MetadataKey}'; that key holds the file's metadata.", nameof(tensors));
            if (tensor is null)
                throw new ArgumentException($"Tensor '{name}' is null.", nameof(tensors));
            if (tensor.IsInvalid)
                throw new ArgumentException($"Tensor '{name}' has been disposed.", nameof(tensors));
            var dtype = SafetensorsDtype.FromType(tensor.dtype)
                ?? throw new ArgumentException($"Tensor '{name}' has dtype {tensor.dtype}, which cannot be stored in safetensors here; supported: {SafetensorsDtype.SupportedList}.", nameof(tensors));
            if (tensor.is_sparse)
                throw new ArgumentException($"Tensor '{name}' is sparse; convert it to a dense tensor (to_dense()) before saving.", nameof(tensors));

            long[] shape = tensor.shape;
            long bytes;
            try
            {
                bytes = checked(shape.Aggregate(1L, (a, b) => a * b) * dtype.Size);
            }
            catch (OverflowException)
            {
                throw new ArgumentException($"Tensor '{name}' of shape [{string.Join(", ", shape)}] is too large.", nameof(tensors));
            }
            planned.Add(new PlannedTensor(tensor, new SafetensorsHeader.Entry(name, dtype, shape, offset, offset + bytes)));
            offset = checked(offset + bytes);
        }

        var header = SafetensorsHeader.Serialize(planned.Select(t => t.Entry), metadata);
        return new WritePlan(header, planned, offset);
    }

    private static void WriteAll(Stream stream, WritePlan plan)
    {
        TensorBytes.RequireLittleEndian();

        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)plan.Header.Length);
        stream.Write(prefix);
        stream.Write(plan.Header);

        foreach (var (tensor, entry) in plan.Tensors)
        {
            long expected = entry.End - entry.Begin;
            if (expected == 0) continue;
            // Copies (detached, CPU, contiguous) are temporaries of this scope; the caller's tensor is untouched.
            using var scope = torch.NewDisposeScope();
            Tensor cpu;
            try
            {
                cpu = tensor.detach().cpu().contiguous();
            }
            catch (ExternalException e)
            {
                // e.g. a meta tensor, or a device error: name the tensor, keep libtorch's first line.
                throw new InvalidOperationException($"Tensor '{entry.Name}' could not be copied to the CPU for saving: {e.Message.Split('\n')[0]}", e);
            }
            if (cpu.dtype != entry.Dtype.Type || !cpu.shape.SequenceEqual(entry.Shape))
                throw new InvalidOperationException($"Tensor '{entry.Name}' changed while it was being saved.");
            TensorBytes.ForEachChunk(cpu, expected, chunk => stream.Write(chunk));
        }
    }

    /// <summary>The error for saving to <paramref name="path"/> in a folder that does not exist: the user's path and the missing folder, not the temporary file's name.</summary>
    private static DirectoryNotFoundException MissingFolder(string path, string folder, Exception? inner)
    {
        string missing = folder;
        for (string? parent = System.IO.Path.GetDirectoryName(missing); parent is not null && !Directory.Exists(parent); parent = System.IO.Path.GetDirectoryName(parent))
            missing = parent;
        return new DirectoryNotFoundException($"Cannot save '{path}': the folder '{missing}' does not exist. Create it first (Directory.CreateDirectory(\"{folder}\")) or save into an existing folder.", inner);
    }
}
