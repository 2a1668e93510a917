using ILGPU;
using ILGPU.Runtime;

namespace KernelSharp.Runtime.Model.Kernels;

/// <summary>
/// A device buffer owned by <see cref="KernelStorage"/>: either rented from its <see cref="DeviceMemoryPool"/>
/// (activations, scratch, caches; handed back on Dispose and reusable at once) or a dedicated allocation of exactly
/// the requested size (weights), whose memory is freed only after the next synchronization (kernels that read it may
/// still be queued, and freeing device memory would stall the whole queue).
/// </summary>
internal sealed class DeviceBuffer<T> : IDisposable
    where T : unmanaged
{
    private readonly KernelStorage owner;
    private readonly bool pooled;
    private MemoryBuffer1D<T, Stride1D.Dense>? buffer; // [≥ Length]: a pooled buffer is rounded up to its size class

    public DeviceBuffer(KernelStorage owner, MemoryBuffer1D<T, Stride1D.Dense> buffer, long length, bool pooled)
    {
        if (length < 1 || length > buffer.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(length), $"a buffer of {buffer.Length} elements cannot serve {length}");
        }

        this.owner = owner;
        this.buffer = buffer;
        this.pooled = pooled;
        Length = length;
    }

    /// <summary>Elements requested (at least 1: ILGPU refuses empty buffers on some backends).</summary>
    public long Length { get; }

    /// <summary>The requested elements, [Length] (the size-class slack of a pooled buffer is not part of it).</summary>
    public ArrayView<T> View => (buffer ?? throw new ObjectDisposedException(nameof(DeviceBuffer<T>))).View.SubView(0, Length);

    public void Dispose()
    {
        if (buffer is not null)
        {
            owner.Release(buffer, pooled);
            buffer = null;
        }
    }
}
