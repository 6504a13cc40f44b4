using System;
using System.Runtime.InteropServices;

namespace Flora.Cli.Training;

/// <summary>
/// The GPU memory this process holds, as the NVIDIA driver reports it per process (NVML, the figure nvidia-smi shows):
/// the CUDA context plus everything libtorch's caching allocator has reserved. TorchSharp 0.107 exposes no allocator
/// statistics and no <c>empty_cache</c>, and the caching allocator keeps what it reserved for the life of the process,
/// so the figure only grows: read after a run, it is the process's peak so far — one method's peak when the process
/// runs one method (as the GPU sweep in docs/results does). Null where NVML is missing or does not list this process.
/// </summary>
internal static class GpuProcessMemory
{
    private const int Success = 0, InsufficientSize = 7;
    private static readonly Lazy<Nvml?> Library = new(Nvml.TryLoad);

    /// <summary>Bytes of GPU memory held by this process over every GPU, or null when unknown.</summary>
    public static long? Bytes()
    {
        var nvml = Library.Value;
        if (nvml is null || nvml.DeviceCount(out uint devices) != Success) return null;
        uint pid = (uint)Environment.ProcessId;
        long total = 0;
        bool listed = false;
        for (uint index = 0; index < devices; index++)
        {
            if (nvml.DeviceHandle(index, out IntPtr device) != Success) continue;
            var processes = new ProcessInfo[64];
            uint count = (uint)processes.Length;
            int status = nvml.RunningProcesses(device, ref count, processes);
            if (status == InsufficientSize)
            {
                processes = new ProcessInfo[count + 16];
                count = (uint)processes.Length;
                status = nvml.RunningProcesses(device, ref count, processes);
            }
            if (status != Success) continue;
            for (int i = 0; i < count; i++)
            {
                if (processes[i].Pid != pid || processes[i].UsedGpuMemory == ulong.MaxValue) continue; // ulong.MaxValue: NVML_VALUE_NOT_AVAILABLE
                total += (long)processes[i].UsedGpuMemory;
                listed = true;
            }
        }
        return listed ? total : null;
    }

    /// <summary>NVML's <c>nvmlProcessInfo_t</c> (the v2/v3 layout).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct ProcessInfo
    {
        public uint Pid;
        public ulong UsedGpuMemory;
        public uint GpuInstanceId;
        public uint ComputeInstanceId;
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int InitFn();

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int CountFn(out uint count);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int HandleFn(uint index, out IntPtr device);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int ProcessesFn(IntPtr device, ref uint count, [Out] ProcessInfo[] infos);

    /// <summary>The three NVML entry points used, loaded at run time (no NVML where there is no NVIDIA driver).</summary>
    private sealed record Nvml(CountFn DeviceCount, HandleFn DeviceHandle, ProcessesFn RunningProcesses)
    {
        public static Nvml? TryLoad()
        {
            if (!NativeLibrary.TryLoad("libnvidia-ml.so.1", out IntPtr library) && !NativeLibrary.TryLoad("nvml.dll", out library)) return null;
            T? Get<T>(string name) where T : Delegate =>
                NativeLibrary.TryGetExport(library, name, out IntPtr address) ? Marshal.GetDelegateForFunctionPointer<T>(address) : null;
            var init = Get<InitFn>("nvmlInit_v2");
            var count = Get<CountFn>("nvmlDeviceGetCount_v2");
            var handle = Get<HandleFn>("nvmlDeviceGetHandleByIndex_v2");
            var processes = Get<ProcessesFn>("nvmlDeviceGetComputeRunningProcesses_v3") ?? Get<ProcessesFn>("nvmlDeviceGetComputeRunningProcesses_v2");
            if (init is null || count is null || handle is null || processes is null || init() != Success) return null;
            return new Nvml(count, handle, processes);
        }
    }
}
