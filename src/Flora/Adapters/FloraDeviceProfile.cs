using TorchSharp;
using static TorchSharp.torch;

namespace Flora;

/// <summary>
/// The figures <see cref="FloraCostModel"/> prices a kernel with: arithmetic rates (matrix products and convolutions
/// apart: on CUDA in float32, cuDNN convolutions use TF32 by default and matrix products do not), a memory bandwidth and
/// a fixed cost per kernel (the launch plus the binding's per-call overhead). A kernel takes
/// <c>max(2·MACs / rate, bytes / BytesPerSecond) + SecondsPerKernel</c>.
/// The presets are <em>effective</em> figures fitted to what TorchSharp 0.107 measured (docs/BENCHMARKS.md), not
/// data-sheet peaks: only the ratios between paths matter for choosing one.
/// </summary>
/// <param name="Name">A short name for reports.</param>
/// <param name="MatrixFlopsPerSecond">Floating-point operations per second of a large matrix product (Linear layers).</param>
/// <param name="ConvolutionFlopsPerSecond">Floating-point operations per second of a large convolution.</param>
/// <param name="BytesPerSecond">Bytes per second a memory-bound kernel (elementwise, rank-sized projections) moves.</param>
/// <param name="SecondsPerKernel">Fixed cost of one kernel.</param>
internal sealed record FloraDeviceProfile(string Name, double MatrixFlopsPerSecond, double ConvolutionFlopsPerSecond, double BytesPerSecond, double SecondsPerKernel)
{
    /// <summary>A few CPU cores through oneDNN/MKL (fitted on 2 cores of an AMD EPYC, float32).</summary>
    public static FloraDeviceProfile Cpu { get; } = new("cpu", 2e11, 2e11, 1.5e10, 2e-5);

    /// <summary>A data-centre GPU in bfloat16 or float16 (fitted on an H100 through cuDNN and cuBLAS).</summary>
    public static FloraDeviceProfile CudaHalf { get; } = new("cuda 16-bit", 1e14, 2e14, 5e11, 1e-5);

    /// <summary>A data-centre GPU in float32 (fitted on an H100: TF32 convolutions, full-precision matrix products).</summary>
    public static FloraDeviceProfile CudaFloat { get; } = new("cuda float32", 3e13, 2e14, 1e12, 1e-5);

    /// <summary>The preset for tensors of <paramref name="dtype"/> on a device of <paramref name="device"/>'s type.</summary>
    public static FloraDeviceProfile For(DeviceType device, ScalarType dtype) =>
        device != DeviceType.CUDA ? Cpu
        : dtype is ScalarType.BFloat16 or ScalarType.Float16 ? CudaHalf
        : CudaFloat;
}

/// <summary>What an adapter's cost depends on besides shapes: the device, the element size and whether a backward follows.</summary>
/// <param name="Device">The hardware figures.</param>
/// <param name="BytesPerElement">Size of one element of the input and weights.</param>
/// <param name="Training">Whether gradients reach the adapter's tensors (a backward with weight gradients follows the forward).</param>
/// <param name="InputRequiresGrad">Whether the layer's input needs a gradient too (every layer but the first, in training).</param>
internal readonly record struct FloraCostContext(FloraDeviceProfile Device, double BytesPerElement, bool Training, bool InputRequiresGrad)
{
    /// <summary>The context of a forward of <paramref name="input"/>, with gradients reaching the adapter when <paramref name="adapterTrains"/>.</summary>
    public static FloraCostContext Of(Tensor input, bool adapterTrains)
    {
        bool recording = is_grad_enabled();
        return new FloraCostContext(FloraDeviceProfile.For(input.device_type, input.dtype), input.ElementSize,
            recording && adapterTrains, recording && input.requires_grad);
    }

    /// <summary>A training step of a layer in the middle of a network (its input needs a gradient) on <paramref name="device"/>.</summary>
    public static FloraCostContext TrainingStep(DeviceType device, ScalarType dtype) =>
        new(FloraDeviceProfile.For(device, dtype), dtype is ScalarType.BFloat16 or ScalarType.Float16 ? 2 : dtype == ScalarType.Float64 ? 8 : 4,
            Training: true, InputRequiresGrad: true);
}
