using System.Runtime.InteropServices;

namespace KernelSharp.Runtime;

/// <summary>
/// Hands pages of a read-only checkpoint mapping back to the operating system once the loader has read them (Linux:
/// <c>madvise(MADV_DONTNEED)</c>). The file's bytes stay in the page cache, shared and evictable; the process keeps only
/// the pages that inference reads again. The load-time NaN/infinity scan reads every weight once, which otherwise left
/// the whole file resident in the process, embedding table included, of which a decode step reads one row per token.
/// </summary>
internal static partial class MappedPages
{
    private const int DontNeed = 4; // MADV_DONTNEED on Linux

    /// <summary>
    /// Releases the whole pages inside [<paramref name="start"/>, <paramref name="start"/> + <paramref name="length"/>) of
    /// a read-only file mapping; a later read faults them back in from the page cache. Nothing elsewhere than on Linux, or
    /// where the call fails: the pages then simply stay resident.
    /// </summary>
    public static unsafe void Release(byte* start, long length)
    {
        if (!OperatingSystem.IsLinux() || length <= 0)
            return;
        long page = Environment.SystemPageSize;
        long first = ((long)start + page - 1) / page * page; // whole pages only: the neighbours' bytes stay mapped
        long end = ((long)start + length) / page * page;
        if (end > first)
            _ = Advise((nint)first, (nuint)(end - first), DontNeed);
    }

    /// <summary><see cref="Release(byte*, long)"/> for an address held as a number.</summary>
    public static unsafe void Release(nint start, long length) => Release((byte*)start, length);

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Advise(nint address, nuint length, int advice);
}
