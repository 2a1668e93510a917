namespace KernelSharp.Kernels.Attention;

/// <summary>Reference of <see cref="SelectionKernels.CompactSelection"/>.</summary>
public static class SelectionCompactionReference
{
    /// <summary>selected [Q, k], positions [Q] → the visible keys of each row in slot order.</summary>
    public static int[][] Compact(int[] selected, int[] positions, int k) =>
        positions.Select((position, q) => selected.Skip(q * k).Take(k).Where(j => j >= 0 && j <= position).ToArray()).ToArray();
}
