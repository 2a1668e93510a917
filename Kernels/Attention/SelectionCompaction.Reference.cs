using KernelSharp.Kernels.Paging;

namespace KernelSharp.Kernels.Attention;

/// <summary>Reference of <see cref="SelectionKernels.CompactSelection"/>.</summary>
public static class SelectionCompactionReference
{
    /// <summary>selected [Q, k] key positions → the cache rows of each row's visible keys (0 ≤ key ≤ its position), in slot order.</summary>
    public static int[][] Compact(int[] selected, KeyPagesReference pages, int k) =>
        Enumerable.Range(0, pages.Rows)
            .Select(q => selected.Skip(q * k).Take(k).Where(j => j >= 0 && j <= pages.Position(q)).Select(j => pages.CacheRow(q, j)).ToArray())
            .ToArray();
}
