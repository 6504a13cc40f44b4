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

    /// <summary>A pair of events, or null when no CUDA runtime library (13, 12 or unversioned) can be found.</summary>
    public static CudaEvents? Create()
    {
        foreach (string name in new[] { "libcudart.so.13", "libcudart.so.12", "libcudart.so" })
        {
            if (!NativeLibrary.TryLoad(name, out IntPtr library)) continue;
            var runtime = new Runtime(library);
            Check(runtime.Create(out IntPtr start), "cudaEventCreate");
            Check(runtime.Create(out IntPtr end), "cudaEventCreate");
            return new CudaEvents(runtime, start, end);
        }
        return null;
    }

    private CudaEvents(Runtime runtime, IntPtr start, IntPtr end) : this(start, end) => _runtime = runtime;

    private readonly Runtime _runtime = null!;

    /// <summary>Records the start on the default stream.</summary>
    public void Start() => Check(_runtime.Record(_start, IntPtr.Zero), "cudaEventRecord");

    /// <summary>Records the end, waits for it and returns the milliseconds between start and end.</summary>
    public double Stop()
    {
        Check(_runtime.Record(_end, IntPtr.Zero), "cudaEventRecord");
        Check(_runtime.Synchronize(_end), "cudaEventSynchronize");
        Check(_runtime.ElapsedTime(out float ms, _start, _end), "cudaEventElapsedTime");
        return ms;
    }

    public void Dispose()
    {
        _runtime.Destroy(_start);
        _runtime.Destroy(_end);
    }

    private static void Check(int status, string call)
    {
        if (status != 0) throw new InvalidOperationException($"{call} failed with CUDA error {status}");
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int EventCreate(out IntPtr ev);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int EventRecord(IntPtr ev, IntPtr stream);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int EventOne(IntPtr ev);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int EventElapsed(out float ms, IntPtr start, IntPtr end);

    /// <summary>The five event functions of one CUDA runtime library.</summary>
    private sealed class Runtime
    {
        public Runtime(IntPtr library)
        {
            Create = Export<EventCreate>(library, "cudaEventCreate");
            Record = Export<EventRecord>(library, "cudaEventRecord");
            Synchronize = Export<EventOne>(library, "cudaEventSynchronize");
            ElapsedTime = Export<EventElapsed>(library, "cudaEventElapsedTime");
            Destroy = Export<EventOne>(library, "cudaEventDestroy");
        }

        public EventCreate Create { get; }
        public EventRecord Record { get; }
        public EventOne Synchronize { get; }
        public EventElapsed ElapsedTime { get; }
        public EventOne Destroy { get; }

        private static T Export<T>(IntPtr library, string name) where T : Delegate =>
            Marshal.GetDelegateForFunctionPointer<T>(NativeLibrary.GetExport(library, name));
    }
}
