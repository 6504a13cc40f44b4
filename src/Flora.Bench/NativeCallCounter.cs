using System;
using System.IO;
using System.Runtime.InteropServices;
using TorchSharp;

namespace Flora.Bench;

/// <summary>
/// Counts the calls into TorchSharp's native bridge (libLibTorchSharp) when the program runs on the counting stand-in
/// that tools/native-calls/build.sh builds (every exported function counts itself, then jumps to the real one). Without
/// it <see cref="Find"/> gives null and nothing is counted.
/// </summary>
internal sealed class NativeCallCounter
{
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate ulong TotalCalls();

    private readonly TotalCalls _total;

    private NativeCallCounter(TotalCalls total) => _total = total;

    /// <summary>The number of native calls so far, process-wide.</summary>
    public ulong Total => _total();

    /// <summary>The counter of the bridge this process loaded, or null when it is the plain one.</summary>
    public static NativeCallCounter? Find()
    {
        _ = torch.get_num_threads(); // make sure TorchSharp loaded its bridge
        foreach (string dir in new[] { AppContext.BaseDirectory, Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native") })
        {
            string path = Path.Combine(dir, "libLibTorchSharp.so");
            if (File.Exists(path) && NativeLibrary.TryLoad(path, out IntPtr handle)
                && NativeLibrary.TryGetExport(handle, "flora_native_calls_total", out IntPtr total))
            {
                return new NativeCallCounter(Marshal.GetDelegateForFunctionPointer<TotalCalls>(total));
            }
        }
        return null;
    }
}
