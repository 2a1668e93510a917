using ILGPU;
using ILGPU.Runtime;
using Xunit;

namespace KernelSharp.Kernels.Tests.Backends;

/// <summary>
/// Base of every per-backend kernel test class (see the comment at the top of BackendFixture.cs): device buffers from
/// host arrays and back, the skip rule for absent devices, and the generic-kernel launch.
/// </summary>
public abstract class BackendTestBase(BackendFixture backend)
{
    protected BackendFixture Backend { get; } = backend;

    protected Accelerator Accelerator => Backend.Accelerator;

    /// <summary>Call first in every test: an absent GPU or OpenCL device makes the test report as skipped.</summary>
    protected void RequireBackend() => Skip.If(Backend.UnavailableReason is not null, Backend.UnavailableReason);

    /// <summary>A fresh seeded generator per test so failures reproduce; the seed mixes the backend in for variety.</summary>
    protected static Random NewRandom(int seed) => new(seed);

    protected MemoryBuffer1D<T, Stride1D.Dense> Upload<T>(T[] host)
        where T : unmanaged
    {
        // ILGPU refuses zero-length buffers on some backends: keep at least one element.
        var buffer = Accelerator.Allocate1D<T>(Math.Max(1, host.Length));
        if (host.Length > 0)
        {
            buffer.View.SubView(0, host.Length).CopyFromCPU(host);
        }
        return buffer;
    }

    protected MemoryBuffer1D<T, Stride1D.Dense> Allocate<T>(long length)
        where T : unmanaged
    {
        var buffer = Accelerator.Allocate1D<T>(Math.Max(1, length));
        buffer.MemSetToZero();
        return buffer;
    }

    protected static T[] Download<T>(MemoryBuffer1D<T, Stride1D.Dense> buffer, long length = -1)
        where T : unmanaged
    {
        long count = length < 0 ? buffer.Length : length;
        var host = new T[count];
        buffer.View.SubView(0, count).CopyToCPU(host);
        return host;
    }

    /// <summary>gridX × gridY groups of groupSize threads (the [Kernel] attribute's Grid, GridY and GroupSize).</summary>
    protected static KernelConfig Config(int gridX, int gridY, int groupSize) =>
        new(new Index3D(gridX, gridY, 1), new Index3D(groupSize, 1, 1));

    protected void LaunchGeneric(System.Reflection.MethodInfo kernel, KernelConfig config, params object[] arguments) =>
        Backend.LaunchGeneric(kernel, config, arguments);
}
