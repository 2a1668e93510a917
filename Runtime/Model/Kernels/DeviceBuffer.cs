using ILGPU;
using ILGPU.Runtime;

namespace KernelSharp.Runtime.Model.Kernels;

/// <summary>
/// A device buffer owned by <see cref="KernelStorage"/>. Disposing it does not free the memory at once: kernels that
/// read it may still be queued on a GPU, and freeing device memory would stall the whole queue, so the storage frees
/// retired buffers after its next synchronization.
/// </summary>
internal sealed class DeviceBuffer<T> : IDisposable
    where T : unmanaged
{
    private readonly KernelStorage owner;
    private MemoryBuffer1D<T, Stride1D.Dense>? buffer;

    public DeviceBuffer(KernelStorage owner, MemoryBuffer1D<T, Stride1D.Dense> buffer)
    {
        this.owner = owner;
        this.buffer = buffer;
        Length = buffer.Length;
    }

    /// <summary>Elements allocated (at least 1: ILGPU refuses empty buffers on some backends).</summary>
    public long Length { get; }

    public ArrayView<T> View => (buffer ?? throw new ObjectDisposedException(nameof(DeviceBuffer<T>))).View;

    public void Dispose()
    {
        if (buffer is not null)
        {
            owner.Retire(buffer, Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
            buffer = null;
        }
    }
}
