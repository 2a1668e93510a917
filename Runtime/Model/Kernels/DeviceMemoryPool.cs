using ILGPU;
using ILGPU.Runtime;
using KernelSharp.Dsl.Launch;

namespace KernelSharp.Runtime.Model.Kernels;

/// <summary>
/// A caching allocator of device buffers, by element type and size class. A returned buffer can be handed out again
/// AT ONCE, even on a GPU: every kernel and copy of a <see cref="KernelDevice"/> runs in order on its one default
/// stream, so whatever the next owner queues cannot start before the earlier readers and writers have finished.
/// Sizes are rounded up to 8 classes per power of two (at most 12.5% slack) so prefill chunks of varying lengths
/// reuse each other's buffers.
/// </summary>
/// <remarks>
/// The idle buffers are bounded by the larger of <paramref name="idleBytesLimit"/> and the most bytes ever rented at
/// once (the working set of the largest step so far, which will be rented again): past it, the least recently returned
/// ones are freed until a quarter of that bound is free again. The oldest are buffers of shapes not seen lately
/// (another prompt length, a chunk of another size). Freeing every idle buffer instead, as this pool first did, makes
/// the next step allocate, and the driver free, its whole working set again. An allocation the device refuses frees
/// every idle buffer and is tried once more.
/// </remarks>
/// <param name="idleBytesLimit">Idle bytes always allowed; beyond them and beyond the largest working set so far, the oldest idle buffers are freed.</param>
internal sealed class DeviceMemoryPool(KernelDevice device, long idleBytesLimit = DeviceMemoryPool.DefaultIdleBytesLimit) : IDisposable
{
    public const long DefaultIdleBytesLimit = 2L << 30;

    /// <summary>Smallest class, in elements: tiny index and scalar buffers all share one class.</summary>
    private const long SmallestClass = 64;

    /// <summary>Idle buffers per (element type, class), oldest first, each with the number of the return that made it idle.</summary>
    private readonly Dictionary<(Type Element, long Elements), List<(MemoryBuffer Buffer, long Returned)>> idle = [];
    private readonly object sync = new();
    private long returns;

    /// <summary>Device allocations made so far (cuMemAlloc on CUDA): what the pool exists to keep flat.</summary>
    public long AllocationCount { get; private set; }

    /// <summary>Requests served from an idle buffer.</summary>
    public long ReuseCount { get; private set; }

    /// <summary>Idle buffers freed so far (past the limit, <see cref="FreeIdle"/>, or to retry a refused allocation).</summary>
    public long FreedCount { get; private set; }

    /// <summary>Bytes held by idle buffers now.</summary>
    public long IdleBytes { get; private set; }

    /// <summary>Bytes rented and not yet returned.</summary>
    public long RentedBytes { get; private set; }

    /// <summary>The most bytes rented at once so far: idle buffers up to this many are kept whatever the limit.</summary>
    public long PeakRentedBytes { get; private set; }

    /// <summary>The number of elements a request of <paramref name="length"/> elements is rounded up to.</summary>
    public static long SizeClass(long length)
    {
        if (length <= SmallestClass)
            return SmallestClass;
        long power = 1L << (63 - (int)long.LeadingZeroCount(length)); // largest power of two ≤ length
        long step = power / 8;
        return (length + step - 1) / step * step;
    }

    /// <summary>A buffer of <see cref="SizeClass"/>(length) elements: the most recently returned idle one of that class, or a new allocation.</summary>
    public MemoryBuffer1D<T, Stride1D.Dense> Rent<T>(long length)
        where T : unmanaged
    {
        var key = (typeof(T), SizeClass(length));
        long bytes = key.Item2 * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        lock (sync)
        {
            if (idle.TryGetValue(key, out var ofClass) && ofClass.Count > 0)
            {
                var buffer = ofClass[^1].Buffer;
                ofClass.RemoveAt(ofClass.Count - 1);
                IdleBytes -= bytes;
                ReuseCount++;
                Rented(bytes);
                return (MemoryBuffer1D<T, Stride1D.Dense>)buffer;
            }
        }

        MemoryBuffer1D<T, Stride1D.Dense> allocated;
        try
        {
            allocated = device.Allocate<T>(key.Item2);
        }
        catch (Exception refused) when (refused is AcceleratorException or OutOfMemoryException)
        {
            FreeIdle(); // idle buffers of other classes may be what stands in the way
            allocated = device.Allocate<T>(key.Item2);
        }

        lock (sync)
        {
            AllocationCount++;
            Rented(bytes);
        }

        return allocated;
    }

    /// <summary>Takes back a buffer from <see cref="Rent{T}"/>; the next request of its class may use it at once (see the class remarks).</summary>
    public void Return<T>(MemoryBuffer1D<T, Stride1D.Dense> buffer)
        where T : unmanaged
    {
        bool overLimit;
        long bound;
        lock (sync)
        {
            var key = (typeof(T), buffer.Length);
            if (!idle.TryGetValue(key, out var ofClass))
            {
                ofClass = [];
                idle[key] = ofClass;
            }

            ofClass.Add((buffer, ++returns));
            IdleBytes += buffer.LengthInBytes;
            RentedBytes -= buffer.LengthInBytes;
            bound = Math.Max(idleBytesLimit, PeakRentedBytes);
            overLimit = IdleBytes > bound;
        }

        if (overLimit)
        {
            FreeOldest(bound - bound / 4);
        }
    }

    /// <summary>Waits for the queued work (it may still read idle buffers on a GPU), then frees every idle buffer.</summary>
    public void FreeIdle() => FreeOldest(0);

    public void Dispose() => FreeIdle();

    /// <summary>
    /// Frees idle buffers, least recently returned first, until at most <paramref name="keptBytes"/> stay idle. Each
    /// class's list is in return order, so the oldest of all is the first of some class: a scan of the classes, on a path
    /// taken only past the bound.
    /// </summary>
    private void FreeOldest(long keptBytes)
    {
        device.Synchronize(); // queued kernels may still read a buffer returned after its last launch
        var freed = new List<MemoryBuffer>();
        lock (sync)
        {
            while (IdleBytes > keptBytes)
            {
                List<(MemoryBuffer Buffer, long Returned)>? oldest = null;
                foreach (var ofClass in idle.Values)
                {
                    if (ofClass.Count > 0 && (oldest is null || ofClass[0].Returned < oldest[0].Returned))
                        oldest = ofClass;
                }

                var buffer = oldest![0].Buffer;
                oldest.RemoveAt(0);
                IdleBytes -= buffer.LengthInBytes;
                freed.Add(buffer);
            }

            FreedCount += freed.Count;
        }

        foreach (var buffer in freed)
        {
            buffer.Dispose();
        }
    }

    /// <summary>Counts a rent of <paramref name="bytes"/> (the caller holds the lock).</summary>
    private void Rented(long bytes)
    {
        RentedBytes += bytes;
        PeakRentedBytes = Math.Max(PeakRentedBytes, RentedBytes);
    }
}
