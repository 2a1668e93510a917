using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl.Launch;

namespace KernelSharp.Runtime.Model.Kernels;

/// <summary>
/// A caching allocator of device buffers, by element type and size class. A returned buffer can be handed out again
/// AT ONCE, even on a GPU: every kernel and copy of a <see cref="KernelDevice"/> runs in order on its one default
/// stream, so whatever the next owner queues cannot start before the earlier readers and writers have finished.
/// Sizes are rounded up to 8 classes per power of two (at most 12.5% slack) so prefill chunks of varying lengths
/// reuse each other's buffers. The idle buffers are bounded: past <paramref name="idleBytesLimit"/> they are all freed.
/// </summary>
/// <param name="idleBytesLimit">Idle bytes above which the pool frees its idle buffers (a long prompt's big activations are not kept forever).</param>
internal sealed class DeviceMemoryPool(KernelDevice device, long idleBytesLimit = DeviceMemoryPool.DefaultIdleBytesLimit) : IDisposable
{
    public const long DefaultIdleBytesLimit = 2L << 30;

    /// <summary>Smallest class, in elements: tiny index and scalar buffers all share one class.</summary>
    private const long SmallestClass = 64;

    private readonly Dictionary<(Type Element, long Elements), Stack<MemoryBuffer>> idle = [];
    private readonly object sync = new();

    /// <summary>Device allocations made so far (cuMemAlloc on CUDA): what the pool exists to keep flat.</summary>
    public long AllocationCount { get; private set; }

    /// <summary>Requests served from an idle buffer.</summary>
    public long ReuseCount { get; private set; }

    /// <summary>Bytes held by idle buffers now.</summary>
    public long IdleBytes { get; private set; }

    /// <summary>The number of elements a request of <paramref name="length"/> elements is rounded up to.</summary>
    public static long SizeClass(long length)
    {
        if (length <= SmallestClass)
            return SmallestClass;
        long power = 1L << (63 - (int)long.LeadingZeroCount(length)); // largest power of two ≤ length
        long step = power / 8;
        return (length + step - 1) / step * step;
    }

    /// <summary>A buffer of <see cref="SizeClass"/>(length) elements: an idle one of that class, or a new allocation.</summary>
    public MemoryBuffer1D<T, Stride1D.Dense> Rent<T>(long length)
        where T : unmanaged
    {
        var key = (typeof(T), SizeClass(length));
        lock (sync)
        {
            if (idle.TryGetValue(key, out var stack) && stack.Count > 0)
            {
                var buffer = (MemoryBuffer1D<T, Stride1D.Dense>)stack.Pop();
                IdleBytes -= buffer.LengthInBytes;
                ReuseCount++;
                return buffer;
            }

            AllocationCount++;
        }

        return device.Allocate<T>(key.Item2);
    }

    /// <summary>Takes back a buffer from <see cref="Rent{T}"/>; the next request of its class may use it at once (see the class remarks).</summary>
    public void Return<T>(MemoryBuffer1D<T, Stride1D.Dense> buffer)
        where T : unmanaged
    {
        bool overLimit;
        lock (sync)
        {
            var key = (typeof(T), buffer.Length);
            if (!idle.TryGetValue(key, out var stack))
            {
                stack = new Stack<MemoryBuffer>();
                idle[key] = stack;
            }

            stack.Push(buffer);
            IdleBytes += buffer.LengthInBytes;
            overLimit = IdleBytes > idleBytesLimit;
        }

        if (overLimit)
        {
            FreeIdle();
        }
    }

    /// <summary>Waits for the queued work (it may still read idle buffers on a GPU), then frees every idle buffer.</summary>
    public void FreeIdle()
    {
        device.Synchronize();
        lock (sync)
        {
            foreach (var stack in idle.Values)
            {
                foreach (var buffer in stack)
                {
                    buffer.Dispose();
                }
            }

            idle.Clear();
            IdleBytes = 0;
        }
    }

    public void Dispose() => FreeIdle();
}
