using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;

namespace KernelSharp.Dsl.Tests;

/// <summary>
/// ILGPU CPU accelerators for kernel tests. <see cref="Nvidia32"/> simulates 32-lane warps (the shuffle path of the
/// collectives); <see cref="NarrowWarps"/> has 4-lane warps, so the collectives take their shared-memory path.
/// Both allow groups of up to 1024 threads.
/// </summary>
public sealed class IlgpuCpu : IDisposable
{
    private IlgpuCpu(int warpSize)
    {
        Context = Context.Create(builder => builder.CPU(new CPUDevice(warpSize, 1024 / warpSize, 1)));
        Accelerator = Context.CreateCPUAccelerator(0);
    }

    public Context Context { get; }

    public Accelerator Accelerator { get; }

    public static IlgpuCpu Nvidia32() => new(32);

    public static IlgpuCpu NarrowWarps() => new(4);

    public MemoryBuffer1D<T, Stride1D.Dense> Upload<T>(T[] data) where T : unmanaged
    {
        var buffer = Accelerator.Allocate1D<T>(data.Length);
        buffer.CopyFromCPU(data);
        return buffer;
    }

    public void Dispose()
    {
        Accelerator.Dispose();
        Context.Dispose();
    }
}
