using System;
using System.Runtime.InteropServices;

namespace Flora.Bench;

/// <summary>
/// The GPU's own time between two points of the default stream, from CUDA events (the runtime library libtorch loaded;
/// TorchSharp 0.107 offers no events). Used with the stream held busy, so that the host queues a whole step before the
/// GPU reaches it: the time between the events is then the GPU's work alone, without the host's gaps.
/// </summary>
internal sealed class CudaEvents : IDisposable
{
    private readonly IntPtr _start, _end;

    private CudaEvents(IntPtr start, IntPtr end)
    {
        _start = start;
        _end = end;
    }

    /// <summary>A pair of events, or null when no CUDA runtime library can be found.</summary>
    public static CudaEvents? Create()
    {
        try
        {
            Check(Native.cudaEventCreate(out IntPtr start), "cudaEventCreate");
            Check(Native.cudaEventCreate(out IntPtr end), "cudaEventCreate");
            return new CudaEvents(start, end);
        }
        catch (DllNotFoundException)
        {
            return null;
        }
        catch (EntryPointNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Records the start on the default stream.</summary>
    public void Start() => Check(Native.cudaEventRecord(_start, IntPtr.Zero), "cudaEventRecord");

    /// <summary>Records the end, waits for it and returns the milliseconds between start and end.</summary>
    public double Stop()
    {
        Check(Native.cudaEventRecord(_end, IntPtr.Zero), "cudaEventRecord");
        Check(Native.cudaEventSynchronize(_end), "cudaEventSynchronize");
        Check(Native.cudaEventElapsedTime(out float ms, _start, _end), "cudaEventElapsedTime");
        return ms;
    }

    public void Dispose()
    {
        Native.cudaEventDestroy(_start);
        Native.cudaEventDestroy(_end);
    }

    private static void Check(int status, string call)
    {
        if (status != 0) throw new InvalidOperationException($"{call} failed with CUDA error {status}");
    }

    private static class Native
    {
        private const string Library = "libcudart.so.12";

        [DllImport(Library)]
        public static extern int cudaEventCreate(out IntPtr ev);

        [DllImport(Library)]
        public static extern int cudaEventRecord(IntPtr ev, IntPtr stream);

        [DllImport(Library)]
        public static extern int cudaEventSynchronize(IntPtr ev);

        [DllImport(Library)]
        public static extern int cudaEventElapsedTime(out float ms, IntPtr start, IntPtr end);

        [DllImport(Library)]
        public static extern int cudaEventDestroy(IntPtr ev);
    }
}
