using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;

namespace KernelSharp.Dsl.Launch;

/// <summary>
/// Shared memory for the generated CPU path: each host thread keeps one host buffer per allocation site and hands it
/// to every group it runs. Reuse is sound because shared memory starts undefined in every group, and a host thread
/// runs one group at a time. Views (not arrays) so kernels may pass them to helpers taking <c>ArrayView&lt;T&gt;</c>.
/// </summary>
public static class CpuSharedMemory
{
    private static readonly Lazy<Accelerator> host = new(() =>
    {
        // A small CPU accelerator only serves as the owner of host buffers; it never runs kernels.
        var context = Context.Create(builder => builder.CPU(CPUDevice.Default));
        return context.CreateCPUAccelerator(0);
    });

    [ThreadStatic]
    private static Dictionary<string, MemoryBuffer>? buffers;

    /// <summary>A view of <paramref name="length"/> elements for allocation site <paramref name="site"/> on this host thread.</summary>
    public static ArrayView<T> Rent<T>(string site, int length) where T : unmanaged
    {
        if (length < 0)
            throw new ArgumentOutOfRangeException(nameof(length), $"shared-memory length {length} of {site} must not be negative");
        buffers ??= new Dictionary<string, MemoryBuffer>(StringComparer.Ordinal);
        if (!buffers.TryGetValue(site, out var buffer) || buffer is not MemoryBuffer1D<T, Stride1D.Dense> typed || typed.Length < length)
        {
            buffer?.Dispose();
            typed = host.Value.Allocate1D<T>(Math.Max(1, length));
            buffers[site] = typed;
        }
        return typed.View.SubView(0, length);
    }
}
