using System.Runtime.InteropServices;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

namespace KernelSharp.Dsl.Launch;

/// <summary>
/// Lets a generated variant use more than 48 KB of shared memory (<c>[Kernel(LargeSharedMemory = true)]</c>). CUDA
/// caps static shared memory at 48 KB; beyond it a kernel takes dynamic shared memory, and the driver refuses a launch
/// above 48 KB until the kernel's <c>MAX_DYNAMIC_SHARED_SIZE_BYTES</c> attribute has been raised (up to the device's
/// opt-in limit: 227 KB on Hopper, 163 KB on A100, 99 KB on most consumer GPUs). ILGPU has no call for that attribute,
/// so this sets it through the driver on the loaded kernel's function handle. Other devices are checked against
/// their group limit; the ILGPU CPU accelerator backs shared memory with host memory.
/// </summary>
public static partial class LargeSharedMemory
{
    private const string Driver = "libcuda.so.1";
    private const int FunctionMaxDynamicSharedSizeBytes = 8;       // CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
    private const int DeviceMaxSharedMemoryPerBlockOptIn = 97;     // CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN

    /// <summary>
    /// Prepares the freshly loaded <paramref name="launcher"/> of <paramref name="variant"/> for launches with
    /// <paramref name="bytes"/> of dynamic shared memory, or throws <see cref="NotSupportedException"/> naming the variant,
    /// the bytes it needs and what <paramref name="accelerator"/> allows.
    /// </summary>
    public static TDelegate Allow<TDelegate>(TDelegate launcher, Accelerator accelerator, int bytes, string variant) where TDelegate : Delegate
    {
        ArgumentNullException.ThrowIfNull(launcher);
        ArgumentNullException.ThrowIfNull(accelerator);
        if (accelerator is CPUAccelerator)
            return launcher; // host memory: no group limit, and no driver kernel behind the delegate
        Allow(launcher.GetKernel(), accelerator, bytes, variant);
        return launcher;
    }

    /// <summary>The same for a <see cref="Kernel"/> loaded directly (<c>accelerator.LoadKernel</c>).</summary>
    public static void Allow(Kernel kernel, Accelerator accelerator, int bytes, string variant)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(accelerator);
        switch (accelerator)
        {
            case CPUAccelerator:
                return;
            case CudaAccelerator cuda:
                int allowed = OptInLimit(cuda);
                Refuse(variant, bytes, accelerator, allowed);
                int status = cuFuncSetAttribute(((CudaKernel)kernel).FunctionPtr, FunctionMaxDynamicSharedSizeBytes, bytes);
                if (status != 0)
                    throw new NotSupportedException($"{variant}: the CUDA driver refused {bytes} bytes of dynamic shared memory (cuFuncSetAttribute error {status}) on {accelerator.Name}, which reports {allowed}");
                return;
            default:
                Refuse(variant, bytes, accelerator, accelerator.MaxSharedMemoryPerGroup);
                return;
        }
    }

    private static void Refuse(string variant, int bytes, Accelerator accelerator, int allowed)
    {
        if (bytes > allowed)
            throw new NotSupportedException($"{variant} needs {bytes} bytes of shared memory per group; {accelerator.Name} allows {allowed}");
    }

    /// <summary>The most shared memory a group may opt into on this GPU (the driver's per-block opt-in attribute).</summary>
    private static int OptInLimit(CudaAccelerator cuda)
    {
        if (cuDeviceGet(out int device, cuda.DeviceId) != 0 || cuDeviceGetAttribute(out int allowed, DeviceMaxSharedMemoryPerBlockOptIn, device) != 0)
            return cuda.MaxSharedMemoryPerGroup; // the plain 48 KB limit: asking for more then fails with the numbers
        return allowed;
    }

    [LibraryImport(Driver)]
    private static partial int cuFuncSetAttribute(nint function, int attribute, int value);

    [LibraryImport(Driver)]
    private static partial int cuDeviceGet(out int device, int ordinal);

    [LibraryImport(Driver)]
    private static partial int cuDeviceGetAttribute(out int value, int attribute, int device);
}
