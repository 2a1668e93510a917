using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace KernelSharp.Dsl;

/// <summary>
/// Software prefetch for host loops that stream weights from memory once (decode's matrix–vector products).
/// </summary>
/// <remarks>
/// Measured on a 2-core AVX-512 Xeon (docs/perf/raw/2026-12-06-cpu-switch/stream-probe: a 512 MB bf16 stream of
/// 1024-value rows, one row-dot after another): on 2 threads the plain widen-and-multiply loop read 13.5 GB/s where a
/// plain read loop reached 23.7; asking for the line 4 KB ahead raised the dot loop to 20.4 GB/s (1 KB: 16.4, 2 KB: 19.6,
/// 8 KB: 20.6). The hardware prefetcher alone does not keep enough lines in
/// flight for a loop that does this much work per cache line. A prefetch never faults, so the address may run past the
/// row or the buffer; it is formed as a plain pointer so no tracked reference points outside an object.
/// </remarks>
public static class StreamAhead
{
    /// <summary>How far ahead of the element being read the line is requested, in bytes.</summary>
    public const int Distance = 4096;

    /// <summary>Requests the cache line <see cref="Distance"/> bytes after element <paramref name="index"/> of <paramref name="start"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Touch<T>(ref T start, int index) where T : unmanaged
    {
        if (Sse.IsSupported)
            Sse.Prefetch0((byte*)Unsafe.AsPointer(ref start) + (long)index * sizeof(T) + Distance);
    }
}
