using ILGPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace KernelSharp.Runtime.Devices;

/// <summary>A GPU found on this machine.</summary>
public sealed record GpuInfo(ComputeDevice Kind, string Name, long MemoryBytes);

/// <summary>Lists the GPUs the runtime could use. Injected into <see cref="DeviceSelector"/> so tests can pretend.</summary>
public interface IGpuProbe
{
    IReadOnlyList<GpuInfo> FindGpus();
}

/// <summary>Asks ILGPU for CUDA and OpenCL devices. A machine without drivers simply has none.</summary>
public sealed class IlgpuGpuProbe : IGpuProbe
{
    public IReadOnlyList<GpuInfo> FindGpus()
    {
        var found = new List<GpuInfo>();
        try
        {
            using var context = Context.Create(builder => builder.Cuda().OpenCL());
            foreach (var device in context.GetCudaDevices())
            {
                found.Add(new GpuInfo(ComputeDevice.Cuda, device.Name, device.MemorySize));
            }

            foreach (var device in context.GetCLDevices())
            {
                found.Add(new GpuInfo(ComputeDevice.OpenCL, device.Name, device.MemorySize));
            }
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or InvalidOperationException or NotSupportedException)
        {
            // A broken or missing driver means "no GPU", not a crash: the CPU path still works.
        }

        return found;
    }
}
